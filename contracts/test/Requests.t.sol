// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ExecutionCoordinator} from "../src/ExecutionCoordinator.sol";
import {CoordinatorBase} from "./utils/CoordinatorBase.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

contract RequestsTest is CoordinatorBase {
    bytes32 internal single;
    bytes32 internal triple;
    address[] internal ws;

    function setUp() public override {
        super.setUp();
        single = deployFn("single", 1);
        triple = deployFn("triple", 3);
        ws = newWorkers(3);
    }

    // ------------------------------------------------------------ requesting

    function test_request_emitsEverythingAWorkerNeeds() public {
        uint256 expectedId = coord.nextRequestId();
        uint32 deadline = uint32(block.timestamp) + COMMIT_WINDOW + TIMEOUT_MS / 1000;
        address expectedPrimary = coord.primaryOf(expectedId);
        vm.expectEmit(true, true, true, true);
        emit ExecutionCoordinator.ExecutionRequested(
            expectedId, single, gateway, 1, sha256("single"), 0x55, bytes32("input"), 1, deadline, FEE, expectedPrimary
        );
        vm.prank(gateway);
        uint256 id = coord.requestExecution(single, bytes32("input"));
        assertEq(id, expectedId);
        ExecutionCoordinator.Request memory r = coord.getRequest(id);
        assertEq(r.requester, gateway);
        assertEq(r.feeGwei, FEE_GWEI);
        assertEq(r.commitDeadline, deadline);
        assertEq(r.redundancy, 1);
        assertEq(uint8(r.status), uint8(ExecutionCoordinator.RequestStatus.Pending));
        assertFalse(r.fromQuota);
        assertEq(coord.deposits(gateway), 10 ether - FEE);
    }

    function test_request_feeScalesWithRedundancy() public {
        request(triple);
        assertEq(coord.deposits(gateway), 10 ether - 3 * FEE);
    }

    function test_request_reverts() public {
        bytes32 unknown = keccak256("unknown");
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownFunction.selector, unknown));
        coord.requestExecution(unknown, bytes32(0));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InsufficientDeposit.selector, 0, FEE));
        coord.requestExecution(single, bytes32(0));
        vm.prank(admin);
        coord.pause();
        vm.prank(gateway);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        coord.requestExecution(single, bytes32(0));
    }

    function test_requestBatch() public {
        bytes32[] memory fns = new bytes32[](3);
        bytes32[] memory inputs = new bytes32[](3);
        fns[0] = single;
        fns[1] = triple;
        fns[2] = single;
        vm.prank(gateway);
        uint256 first = coord.requestExecutionBatch(fns, inputs);
        assertEq(coord.nextRequestId(), first + 3);
        assertEq(coord.getRequest(first + 1).redundancy, 3);
        assertEq(coord.deposits(gateway), 10 ether - 5 * FEE);
    }

    function test_requestBatch_reverts() public {
        bytes32[] memory none = new bytes32[](0);
        bytes32[] memory one = new bytes32[](1);
        bytes32[] memory two = new bytes32[](2);
        vm.startPrank(gateway);
        vm.expectRevert(ExecutionCoordinator.EmptyBatch.selector);
        coord.requestExecutionBatch(none, none);
        vm.expectRevert(ExecutionCoordinator.LengthMismatch.selector);
        coord.requestExecutionBatch(one, two);
        vm.stopPrank();
    }

    function test_freeQuota_paysFromTreasury() public {
        setFreeQuota(2, 1 days);
        vm.deal(stranger, 1 ether);
        vm.prank(stranger);
        coord.fundTreasury{value: 1 ether}();
        assertEq(coord.freeQuotaLeft(stranger), 2);

        vm.startPrank(stranger);
        uint256 a = coord.requestExecution(single, bytes32(0));
        coord.requestExecution(single, bytes32(0));
        assertTrue(coord.getRequest(a).fromQuota);
        assertEq(coord.freeQuotaLeft(stranger), 0);
        assertEq(coord.treasury(), 1 ether - 2 * FEE);
        // Quota used up and no deposit: refused.
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InsufficientDeposit.selector, 0, FEE));
        coord.requestExecution(single, bytes32(0));
        vm.stopPrank();

        // Next period: quota again.
        vm.warp(block.timestamp + 1 days);
        assertEq(coord.freeQuotaLeft(stranger), 2);
        vm.prank(stranger);
        coord.requestExecution(single, bytes32(0));
    }

    function test_freeQuota_fallsBackToDepositWhenTreasuryIsEmpty() public {
        setFreeQuota(5, 1 days);
        uint256 id = request(single);
        assertFalse(coord.getRequest(id).fromQuota);
        assertEq(coord.deposits(gateway), 10 ether - FEE);
    }

    // --------------------------------------------------- redundancy 1 fast path

    function test_submit_primaryFinalizesInOneTransaction() public {
        uint256 id = request(single);
        address p = primary(id);
        vm.expectEmit(true, true, false, true);
        emit ExecutionCoordinator.RequestFinalized(id, bytes32("result"), p, 1, FEE);
        vm.prank(p);
        coord.submit(id, "result");
        assertEq(uint8(statusOf(id)), uint8(ExecutionCoordinator.RequestStatus.Finalized));
        assertEq(coord.owed(p), FEE);
    }

    function test_submit_reverts() public {
        uint256 id = request(single);
        address p = primary(id);
        address other = p == ws[0] ? ws[1] : ws[0];
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotPrimary.selector, id, other));
        coord.submit(id, "x");

        uint256 t = request(triple);
        vm.prank(primary(t));
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotSingleWorker.selector, t));
        coord.submit(t, "x");

        vm.prank(p);
        coord.submit(id, "x");
        vm.prank(p);
        vm.expectRevert(
            abi.encodeWithSelector(
                ExecutionCoordinator.RequestNotPending.selector, id, ExecutionCoordinator.RequestStatus.Finalized
            )
        );
        coord.submit(id, "x");

        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownRequest.selector, 999));
        coord.submit(999, "x");

        uint256 late = request(single);
        vm.warp(coord.getRequest(late).commitDeadline + 1);
        vm.prank(primary(late));
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.CommitPhaseOver.selector, late));
        coord.submit(late, "x");
    }

    function test_submitBatch() public {
        // With 3 workers, ids id, id+3, id+6 share a primary.
        uint256 first = request(single);
        request(single);
        request(single);
        uint256 fourth = request(single);
        address p = primary(first);
        assertEq(primary(fourth), p);
        uint256[] memory ids = new uint256[](2);
        bytes32[] memory results = new bytes32[](2);
        ids[0] = first;
        ids[1] = fourth;
        vm.prank(p);
        coord.submitBatch(ids, results);
        assertEq(coord.owed(p), 2 * FEE);

        vm.startPrank(p);
        vm.expectRevert(ExecutionCoordinator.EmptyBatch.selector);
        coord.submitBatch(new uint256[](0), new bytes32[](0));
        vm.expectRevert(ExecutionCoordinator.LengthMismatch.selector);
        coord.submitBatch(ids, new bytes32[](1));
        vm.stopPrank();
    }

    function test_attack_onlyPrimaryDuringItsWindow_thenTakeover() public {
        uint256 id = request(single);
        address p = primary(id);
        address other = p == ws[0] ? ws[1] : ws[0];
        uint32 takeoverAt = coord.getRequest(id).commitDeadline - TAKEOVER;
        bytes32 commitment = coord.commitmentOf(id, "copy", other, "s");
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.PrimaryWindow.selector, id, takeoverAt));
        coord.commit(id, commitment);

        // The primary is offline; after its window another worker takes over with commit–reveal.
        vm.warp(takeoverAt);
        commitAs(other, id, "answer");
        vm.prank(p);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.CommitPhaseOver.selector, id));
        coord.submit(id, "late");
        revealAs(other, id, "answer");
        coord.finalize(id);
        assertEq(coord.owed(other), FEE);
        assertEq(uint8(statusOf(id)), uint8(ExecutionCoordinator.RequestStatus.Finalized));
    }

    // ------------------------------------------------------- commit and reveal

    function test_quorum_majorityWins_fastestEarnsMost_minoritySlashed() public {
        uint256 id = request(triple);
        commitAs(ws[0], id, "good");
        commitAs(ws[1], id, "evil");
        commitAs(ws[2], id, "good");
        revealAs(ws[2], id, "good");
        revealAs(ws[1], id, "evil");
        revealAs(ws[0], id, "good");
        assertTrue(coord.isFinalizable(id));

        uint256 fee = 3 * FEE;
        uint256 primaryShare = fee / 2;
        uint256 each = (fee - primaryShare) / 2;
        vm.expectEmit(true, true, false, true);
        emit ExecutionCoordinator.Slashed(ws[1], id, 1 ether);
        vm.expectEmit(true, true, false, true);
        emit ExecutionCoordinator.RequestFinalized(id, bytes32("good"), ws[0], 2, primaryShare + each);
        coord.finalize(id);

        assertEq(coord.owed(ws[0]), primaryShare + each, "fastest majority commit earns the main share");
        assertEq(coord.owed(ws[2]), each);
        assertEq(coord.owed(ws[1]), 0);
        assertEq(coord.getWorker(ws[1]).stake, 1 ether);
        assertEq(coord.treasury(), 1 ether + fee - primaryShare - 2 * each);
        for (uint256 i; i < 3; ++i) {
            assertEq(coord.getWorker(ws[i]).openCommitments, 0);
        }
    }

    function test_slashBelowMinStakeDeactivates() public {
        setSlashBps(7500);
        uint256 id = request(triple);
        commitAs(ws[0], id, "good");
        commitAs(ws[1], id, "good");
        commitAs(ws[2], id, "evil");
        revealAs(ws[0], id, "good");
        revealAs(ws[1], id, "good");
        revealAs(ws[2], id, "evil");
        coord.finalize(id);
        assertEq(coord.getWorker(ws[2]).stake, 0.5 ether);
        assertFalse(coord.isActiveWorker(ws[2]));
        // Topping up reactivates.
        vm.prank(ws[2]);
        coord.addStake{value: 1 ether}();
        assertTrue(coord.isActiveWorker(ws[2]));
    }

    function test_attack_copyingARevealedResultDoesNotWin() public {
        uint256 id = request(triple);
        commitAs(ws[0], id, "honest");
        commitAs(ws[1], id, "honest");
        // ws[2] has no answer; it copies ws[0]'s commitment, hoping to reveal ws[0]'s result later.
        bytes32 copied = coord.getCommit(id, 0).hash;
        vm.prank(ws[2]);
        coord.commit(id, copied);
        revealAs(ws[0], id, "honest");
        revealAs(ws[1], id, "honest");
        // Having seen the revealed result and salt, it still cannot open a commitment bound to ws[0].
        bytes32 salt0 = keccak256(abi.encode(ws[0], "salt"));
        vm.prank(ws[2]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.CommitmentMismatch.selector, id, ws[2]));
        coord.reveal(id, "honest", salt0);
        // Nor can a late worker commit once reveals are open.
        address late = newWorker("late");
        bytes32 lateCommitment = coord.commitmentOf(id, "honest", late, "s");
        vm.prank(late);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.CommitPhaseOver.selector, id));
        coord.commit(id, lateCommitment);

        vm.warp(coord.getRequest(id).commitDeadline + REVEAL_WINDOW + 1);
        coord.finalize(id);
        assertEq(coord.owed(ws[2]), 0);
        assertEq(coord.getWorker(ws[2]).stake, 1 ether, "the copier is slashed as a non-revealer");
    }

    function test_attack_workerCannotCommitTwice() public {
        uint256 id = request(triple);
        commitAs(ws[0], id, "a");
        bytes32 second = coord.commitmentOf(id, "b", ws[0], "other");
        vm.prank(ws[0]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.AlreadyCommitted.selector, id, ws[0]));
        coord.commit(id, second);
    }

    function test_commit_reverts() public {
        uint256 id = request(triple);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.WorkerNotActive.selector, stranger));
        coord.commit(id, "c");
        vm.prank(ws[0]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownRequest.selector, 999));
        coord.commit(999, "c");
        vm.warp(coord.getRequest(id).commitDeadline + 1);
        vm.prank(ws[0]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.CommitPhaseOver.selector, id));
        coord.commit(id, "c");
    }

    function test_commit_onlyFirstRedundancyAccepted() public {
        uint256 id = request(triple);
        commitAs(ws[0], id, "a");
        commitAs(ws[1], id, "a");
        commitAs(ws[2], id, "a");
        address fourth = newWorker("fourth");
        vm.prank(fourth);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.CommitPhaseOver.selector, id));
        coord.commit(id, "c");
        assertEq(coord.getRequest(id).commitCount, 3);
    }

    function test_reveal_reverts() public {
        uint256 id = request(triple);
        commitAs(ws[0], id, "a");
        vm.prank(ws[0]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.CommitPhaseOpen.selector, id));
        coord.reveal(id, "a", keccak256(abi.encode(ws[0], "salt")));
        commitAs(ws[1], id, "a");
        commitAs(ws[2], id, "a");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotCommitted.selector, id, stranger));
        coord.reveal(id, "a", "s");
        vm.prank(ws[0]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.CommitmentMismatch.selector, id, ws[0]));
        coord.reveal(id, "b", keccak256(abi.encode(ws[0], "salt")));
        revealAs(ws[0], id, "a");
        vm.prank(ws[0]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.AlreadyRevealed.selector, id, ws[0]));
        coord.reveal(id, "a", keccak256(abi.encode(ws[0], "salt")));
        vm.warp(coord.getRequest(id).commitDeadline + REVEAL_WINDOW + 1);
        vm.prank(ws[1]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.RevealPhaseOver.selector, id));
        coord.reveal(id, "a", keccak256(abi.encode(ws[1], "salt")));
    }

    function test_batchCommitReveal() public {
        uint256 a = request(triple);
        uint256 b = request(triple);
        uint256[] memory ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
        for (uint256 k; k < 3; ++k) {
            bytes32[] memory cs = new bytes32[](2);
            bytes32[] memory salts = new bytes32[](2);
            salts[0] = "s0";
            salts[1] = "s1";
            cs[0] = coord.commitmentOf(a, "ra", ws[k], salts[0]);
            cs[1] = coord.commitmentOf(b, "rb", ws[k], salts[1]);
            vm.prank(ws[k]);
            coord.commitBatch(ids, cs);
            assertEq(coord.getWorker(ws[k]).openCommitments, 2);
        }
        for (uint256 k; k < 3; ++k) {
            bytes32[] memory rs = new bytes32[](2);
            bytes32[] memory salts = new bytes32[](2);
            rs[0] = "ra";
            rs[1] = "rb";
            salts[0] = "s0";
            salts[1] = "s1";
            vm.prank(ws[k]);
            coord.revealBatch(ids, rs, salts);
        }
        coord.finalizeBatch(ids);
        assertEq(uint8(statusOf(a)), uint8(ExecutionCoordinator.RequestStatus.Finalized));
        assertEq(uint8(statusOf(b)), uint8(ExecutionCoordinator.RequestStatus.Finalized));
        assertEq(coord.getWorker(ws[1]).openCommitments, 0);
    }

    function test_batchEntryPoints_revertOnBadShape() public {
        uint256[] memory none = new uint256[](0);
        uint256[] memory one = new uint256[](1);
        bytes32[] memory zero32 = new bytes32[](0);
        bytes32[] memory two32 = new bytes32[](2);
        vm.startPrank(ws[0]);
        vm.expectRevert(ExecutionCoordinator.EmptyBatch.selector);
        coord.commitBatch(none, zero32);
        vm.expectRevert(ExecutionCoordinator.LengthMismatch.selector);
        coord.commitBatch(one, two32);
        vm.expectRevert(ExecutionCoordinator.EmptyBatch.selector);
        coord.revealBatch(none, zero32, zero32);
        vm.expectRevert(ExecutionCoordinator.LengthMismatch.selector);
        coord.revealBatch(one, two32, two32);
        vm.expectRevert(ExecutionCoordinator.EmptyBatch.selector);
        coord.finalizeBatch(none);
        vm.stopPrank();
    }

    // -------------------------------------------------------------- finalize

    function test_finalize_reverts() public {
        uint256 id = request(triple);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotFinalizable.selector, id));
        coord.finalize(id);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownRequest.selector, 999));
        coord.finalize(999);
        commitAs(ws[0], id, "a");
        commitAs(ws[1], id, "a");
        commitAs(ws[2], id, "a");
        revealAs(ws[0], id, "a");
        // Reveals still outstanding and their deadline not reached.
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotFinalizable.selector, id));
        coord.finalize(id);
    }

    function test_nobodyAnswers_expiresAndRefundsPayer() public {
        uint256 id = request(triple);
        assertEq(coord.deposits(gateway), 10 ether - 3 * FEE);
        vm.warp(coord.getRequest(id).commitDeadline + 1);
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.RequestExpired(id, 3 * FEE);
        vm.prank(stranger); // anyone may settle it; the refund goes to the payer
        coord.finalize(id);
        assertEq(uint8(statusOf(id)), uint8(ExecutionCoordinator.RequestStatus.Expired));
        assertEq(coord.deposits(gateway), 10 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                ExecutionCoordinator.RequestNotPending.selector, id, ExecutionCoordinator.RequestStatus.Expired
            )
        );
        coord.finalize(id);
    }

    function test_expiredQuotaRequestRefundsTreasury() public {
        setFreeQuota(1, 1 days);
        vm.deal(stranger, 1 ether);
        vm.startPrank(stranger);
        coord.fundTreasury{value: 1 ether}();
        uint256 id = coord.requestExecution(single, bytes32(0));
        vm.stopPrank();
        vm.warp(coord.getRequest(id).commitDeadline + 1);
        coord.finalize(id);
        assertEq(coord.treasury(), 1 ether);
    }

    function test_noMajority_unresolvedRefundsPayer() public {
        uint256 id = request(triple);
        commitAs(ws[0], id, "a");
        commitAs(ws[1], id, "b");
        commitAs(ws[2], id, "c");
        revealAs(ws[0], id, "a");
        revealAs(ws[1], id, "b");
        revealAs(ws[2], id, "c");
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.RequestUnresolved(id, 3 * FEE);
        coord.finalize(id);
        assertEq(uint8(statusOf(id)), uint8(ExecutionCoordinator.RequestStatus.Unresolved));
        assertEq(coord.deposits(gateway), 10 ether);
        for (uint256 i; i < 3; ++i) {
            assertEq(coord.getWorker(ws[i]).stake, 2 ether, "no one is slashed without a majority");
        }
    }

    function test_partialCommitsFinalizeAfterDeadline() public {
        uint256 id = request(triple);
        commitAs(ws[0], id, "a");
        commitAs(ws[1], id, "a");
        vm.warp(coord.getRequest(id).commitDeadline + 1);
        revealAs(ws[0], id, "a");
        revealAs(ws[1], id, "a");
        coord.finalize(id);
        uint256 fee = 3 * FEE;
        uint256 each = (fee - fee / 2) / 2;
        assertEq(coord.owed(ws[0]), fee / 2 + each);
        assertEq(coord.owed(ws[1]), each);
    }

    function test_attack_finalizedRequestIsNeverPaidTwice() public {
        uint256 id = request(single);
        address p = primary(id);
        vm.prank(p);
        coord.submit(id, "r");
        vm.expectRevert(
            abi.encodeWithSelector(
                ExecutionCoordinator.RequestNotPending.selector, id, ExecutionCoordinator.RequestStatus.Finalized
            )
        );
        coord.finalize(id);
        uint256[] memory ids = new uint256[](2);
        ids[0] = id;
        ids[1] = id;
        vm.prank(p);
        vm.expectRevert(
            abi.encodeWithSelector(
                ExecutionCoordinator.RequestNotPending.selector, id, ExecutionCoordinator.RequestStatus.Finalized
            )
        );
        coord.submitBatch(ids, new bytes32[](2));
        assertEq(coord.owed(p), FEE);
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Any split of 3 reveals: rewards + slashes + refunds conserve the escrowed fee.
    function testFuzz_finalizeConservesFunds(uint8 votesSeed, uint8 revealMask) public {
        uint256 id = request(triple);
        bytes32[3] memory results;
        for (uint256 i; i < 3; ++i) {
            results[i] = bytes32(uint256((votesSeed >> (2 * i)) & 1));
            commitAs(ws[i], id, results[i]);
        }
        for (uint256 i; i < 3; ++i) {
            if ((revealMask >> i) & 1 == 1) revealAs(ws[i], id, results[i]);
        }
        vm.warp(coord.getRequest(id).commitDeadline + REVEAL_WINDOW + 1);
        uint256 balance = address(coord).balance;
        coord.finalize(id);
        assertEq(address(coord).balance, balance, "finalize moves no ether");
        uint256 accounted = coord.deposits(gateway) + coord.treasury();
        for (uint256 i; i < 3; ++i) {
            accounted += coord.owed(ws[i]) + coord.getWorker(ws[i]).stake;
        }
        assertEq(accounted, balance);
    }

    function testFuzz_commitmentBindsEverything(uint256 id, bytes32 result, bytes32 salt, address worker) public view {
        bytes32 c = coord.commitmentOf(id, result, worker, salt);
        assertTrue(c != coord.commitmentOf(id ^ 1, result, worker, salt));
        assertTrue(c != coord.commitmentOf(id, result ^ bytes32(uint256(1)), worker, salt));
        assertTrue(c != coord.commitmentOf(id, result, address(uint160(worker) ^ 1), salt));
        assertTrue(c != coord.commitmentOf(id, result, worker, salt ^ bytes32(uint256(1))));
    }
}
