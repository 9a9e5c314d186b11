// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ExecutionCoordinator} from "../src/ExecutionCoordinator.sol";
import {CoordinatorBase} from "./utils/CoordinatorBase.sol";

/// @dev Whole lifecycles at redundancy 1 and 3, single and batched by 32: these drive the
/// batch entry points for `forge test --gas-report` and check that every request settles.
contract LifecycleTest is CoordinatorBase {
    uint256 internal constant BATCH = 32;
    bytes32 internal r1;
    bytes32 internal r3;
    address[] internal ws;

    function setUp() public override {
        super.setUp();
        r1 = deployFn("one", 1);
        r3 = deployFn("three", 3);
        ws = newWorkers(3);
    }

    function test_lifecycle_r1_single() public {
        uint256 id = request(r1);
        vm.prank(primary(id));
        coord.submit(id, "result");
        assertEq(uint8(statusOf(id)), uint8(ExecutionCoordinator.RequestStatus.Finalized));
    }

    function test_lifecycle_r3_single() public {
        uint256 id = request(r3);
        for (uint256 k; k < 3; ++k) {
            commitAs(ws[k], id, "result");
        }
        for (uint256 k; k < 3; ++k) {
            revealAs(ws[k], id, "result");
        }
        coord.finalize(id);
        assertEq(uint8(statusOf(id)), uint8(ExecutionCoordinator.RequestStatus.Finalized));
    }

    function test_lifecycle_r1_batch32() public {
        uint256 first = _requestBatch(r1);
        // Each primary submits its share of the batch in one transaction.
        for (uint256 k; k < ws.length; ++k) {
            uint256 count;
            for (uint256 i; i < BATCH; ++i) {
                if (primary(first + i) == ws[k]) ++count;
            }
            uint256[] memory ids = new uint256[](count);
            uint256 j;
            for (uint256 i; i < BATCH; ++i) {
                if (primary(first + i) == ws[k]) ids[j++] = first + i;
            }
            vm.prank(ws[k]);
            coord.submitBatch(ids, new bytes32[](count));
        }
        for (uint256 i; i < BATCH; ++i) {
            assertEq(uint8(statusOf(first + i)), uint8(ExecutionCoordinator.RequestStatus.Finalized));
        }
        assertEq(coord.owed(ws[0]) + coord.owed(ws[1]) + coord.owed(ws[2]), BATCH * FEE);
    }

    function test_lifecycle_r3_batch32() public {
        uint256 first = _requestBatch(r3);
        uint256[] memory ids = new uint256[](BATCH);
        bytes32[] memory results = new bytes32[](BATCH);
        bytes32[] memory salts = new bytes32[](BATCH);
        for (uint256 i; i < BATCH; ++i) {
            ids[i] = first + i;
            results[i] = bytes32(i);
            salts[i] = bytes32(i + 1);
        }
        for (uint256 k; k < 3; ++k) {
            bytes32[] memory commitments = new bytes32[](BATCH);
            for (uint256 i; i < BATCH; ++i) {
                commitments[i] = coord.commitmentOf(ids[i], results[i], ws[k], salts[i]);
            }
            vm.prank(ws[k]);
            coord.commitBatch(ids, commitments);
        }
        for (uint256 k; k < 3; ++k) {
            vm.prank(ws[k]);
            coord.revealBatch(ids, results, salts);
        }
        coord.finalizeBatch(ids);
        for (uint256 i; i < BATCH; ++i) {
            assertEq(uint8(statusOf(first + i)), uint8(ExecutionCoordinator.RequestStatus.Finalized));
        }
    }

    function _requestBatch(bytes32 fn) internal returns (uint256 first) {
        bytes32[] memory fns = new bytes32[](BATCH);
        bytes32[] memory inputs = new bytes32[](BATCH);
        for (uint256 i; i < BATCH; ++i) {
            fns[i] = fn;
            inputs[i] = keccak256(abi.encode(i));
        }
        vm.prank(gateway);
        first = coord.requestExecutionBatch(fns, inputs);
    }
}
