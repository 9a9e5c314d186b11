// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ExecutionCoordinator} from "../src/ExecutionCoordinator.sol";
import {CoordinatorBase} from "./utils/CoordinatorBase.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

contract WorkersTest is CoordinatorBase {
    address internal w = makeAddr("w");

    function setUp() public override {
        super.setUp();
        vm.deal(w, 10 ether);
    }

    function test_register() public {
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.WorkerRegistered(w, 2 ether, PUBKEY);
        vm.expectEmit(true, false, false, false);
        emit ExecutionCoordinator.WorkerActivated(w);
        vm.prank(w);
        coord.registerWorker{value: 2 ether}(PUBKEY);
        ExecutionCoordinator.Worker memory info = coord.getWorker(w);
        assertTrue(info.registered);
        assertEq(info.stake, 2 ether);
        assertEq(info.activeIndex, 1);
        assertTrue(coord.isActiveWorker(w));
        assertEq(coord.activeWorkerCount(), 1);
        assertEq(coord.activeWorkers()[0], w);
        assertEq(address(coord).balance, 10 ether + 2 ether);
    }

    function test_register_reverts() public {
        vm.startPrank(w);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InsufficientStake.selector, 0.5 ether, MIN_STAKE));
        coord.registerWorker{value: 0.5 ether}(PUBKEY);
        vm.expectRevert(ExecutionCoordinator.InvalidPublicKey.selector);
        coord.registerWorker{value: 1 ether}("");
        vm.expectRevert(ExecutionCoordinator.InvalidPublicKey.selector);
        coord.registerWorker{value: 1 ether}(new bytes(66));
        coord.registerWorker{value: 1 ether}(PUBKEY);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.AlreadyRegistered.selector, w));
        coord.registerWorker{value: 1 ether}(PUBKEY);
        vm.stopPrank();
    }

    function test_register_revertsWhenPaused() public {
        vm.prank(admin);
        coord.pause();
        vm.prank(w);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        coord.registerWorker{value: 1 ether}(PUBKEY);
    }

    function test_setPublicKey() public {
        vm.prank(w);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotRegistered.selector, w));
        coord.setPublicKey(PUBKEY);
        newWorkerAt(w);
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.WorkerPublicKeyChanged(w, hex"01");
        vm.prank(w);
        coord.setPublicKey(hex"01");
        vm.prank(w);
        vm.expectRevert(ExecutionCoordinator.InvalidPublicKey.selector);
        coord.setPublicKey("");
    }

    function test_addStake() public {
        vm.prank(w);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotRegistered.selector, w));
        coord.addStake{value: 1 ether}();
        newWorkerAt(w);
        vm.prank(w);
        vm.expectRevert(ExecutionCoordinator.ZeroAmount.selector);
        coord.addStake();
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.StakeAdded(w, 1 ether, 3 ether);
        vm.prank(w);
        coord.addStake{value: 1 ether}();
        assertEq(coord.getWorker(w).stake, 3 ether);
    }

    function test_unbondAndWithdrawStake() public {
        newWorkerAt(w);
        vm.prank(w);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotUnbonding.selector, w));
        coord.withdrawStake();

        uint64 unlockAt = uint64(block.timestamp) + UNBONDING;
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.UnbondingStarted(w, unlockAt);
        vm.prank(w);
        coord.beginUnbond();
        assertFalse(coord.isActiveWorker(w));
        assertEq(coord.activeWorkerCount(), 0);

        vm.prank(w);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.AlreadyUnbonding.selector, w));
        coord.beginUnbond();
        vm.prank(w);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnbondingNotOver.selector, unlockAt));
        coord.withdrawStake();
        // Stake added while unbonding does not reactivate.
        vm.prank(w);
        coord.addStake{value: 1 ether}();
        assertFalse(coord.isActiveWorker(w));

        vm.warp(unlockAt);
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.StakeWithdrawn(w, 3 ether);
        vm.prank(w);
        coord.withdrawStake();
        assertEq(coord.owed(w), 3 ether);
        assertFalse(coord.getWorker(w).registered);
        uint256 before = w.balance;
        vm.prank(w);
        coord.withdraw();
        assertEq(w.balance, before + 3 ether);
        // May register again afterwards.
        vm.prank(w);
        coord.registerWorker{value: 1 ether}(PUBKEY);
    }

    function test_unbond_revertsWhenNotRegistered() public {
        vm.prank(w);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotRegistered.selector, w));
        coord.beginUnbond();
        vm.prank(w);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotRegistered.selector, w));
        coord.withdrawStake();
    }

    function test_cannotLeaveWithOpenCommitments() public {
        address[] memory ws = newWorkers(3);
        bytes32 fn = deployFn("quorum", 3);
        uint256 id = request(fn);
        commitAs(ws[0], id, "r");
        vm.prank(ws[0]);
        coord.beginUnbond();
        // Unbonding workers still reveal what they committed.
        vm.warp(coord.getRequest(id).commitDeadline + 1);
        revealAs(ws[0], id, "r");
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(ws[0]);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.OpenCommitments.selector, uint32(1)));
        coord.withdrawStake();
        coord.finalize(id);
        vm.prank(ws[0]);
        coord.withdrawStake();
        assertEq(coord.owed(ws[0]), 2 ether + FEE * 3);
    }

    function test_activeSet_swapAndPop() public {
        address[] memory ws = newWorkers(4);
        vm.prank(ws[1]);
        coord.beginUnbond();
        address[] memory active = coord.activeWorkers();
        assertEq(active.length, 3);
        assertEq(active[0], ws[0]);
        assertEq(active[1], ws[3]);
        assertEq(active[2], ws[2]);
        assertEq(coord.getWorker(ws[3]).activeIndex, 2);
        assertEq(coord.getWorker(ws[1]).activeIndex, 0);
    }

    function testFuzz_activeSetStaysConsistent(uint8 seed) public {
        address[] memory ws = newWorkers(6);
        for (uint256 i; i < 6; ++i) {
            if ((seed >> i) & 1 == 1) {
                vm.prank(ws[i]);
                coord.beginUnbond();
            }
        }
        address[] memory active = coord.activeWorkers();
        for (uint256 i; i < active.length; ++i) {
            assertEq(coord.getWorker(active[i]).activeIndex, i + 1);
        }
        uint256 expected;
        for (uint256 i; i < 6; ++i) {
            if ((seed >> i) & 1 == 0) ++expected;
            assertEq(coord.isActiveWorker(ws[i]), (seed >> i) & 1 == 0);
        }
        assertEq(active.length, expected);
    }

    function newWorkerAt(address who) internal {
        vm.prank(who);
        coord.registerWorker{value: 2 ether}(PUBKEY);
    }
}
