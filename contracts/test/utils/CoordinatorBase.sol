// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ExecutionCoordinator} from "../../src/ExecutionCoordinator.sol";

/// @dev Shared fixture: a coordinator with devnet-like parameters, helpers for functions and workers.
abstract contract CoordinatorBase is Test {
    ExecutionCoordinator internal coord;

    address internal admin = makeAddr("admin");
    address internal builder = makeAddr("builder");
    address internal payee = makeAddr("payee");
    address internal gateway = makeAddr("gateway");
    address internal stranger = makeAddr("stranger");

    uint96 internal constant MIN_STAKE = 1 ether;
    uint32 internal constant UNBONDING = 1 days;
    uint32 internal constant COMMIT_WINDOW = 60;
    uint32 internal constant REVEAL_WINDOW = 60;
    uint32 internal constant TAKEOVER = 30;
    uint32 internal constant FEE_GWEI = 1_000_000; // 0.001 ether per execution
    uint256 internal constant FEE = uint256(FEE_GWEI) * 1 gwei;
    uint32 internal constant TIMEOUT_MS = 5000;

    bytes internal constant PUBKEY = hex"02aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899";

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        coord = new ExecutionCoordinator(admin, REVEAL_WINDOW, TAKEOVER, defaultParams());
        vm.deal(gateway, 100 ether);
        vm.prank(gateway);
        coord.deposit{value: 10 ether}();
    }

    function defaultParams() internal pure returns (ExecutionCoordinator.Parameters memory p) {
        p = ExecutionCoordinator.Parameters({
            minStake: MIN_STAKE,
            unbondingDelay: UNBONDING,
            commitWindow: COMMIT_WINDOW,
            feePerExecutionGwei: FEE_GWEI,
            slashBps: 5000,
            primaryShareBps: 5000,
            freeQuotaPerPeriod: 0,
            quotaPeriod: 0
        });
    }

    function setParams(ExecutionCoordinator.Parameters memory p) internal {
        vm.prank(admin);
        coord.setParameters(p);
    }

    function setFreeQuota(uint32 perPeriod, uint32 period) internal {
        ExecutionCoordinator.Parameters memory p = defaultParams();
        p.freeQuotaPerPeriod = perPeriod;
        p.quotaPeriod = period;
        setParams(p);
    }

    function setSlashBps(uint16 bps) internal {
        ExecutionCoordinator.Parameters memory p = defaultParams();
        p.slashBps = bps;
        setParams(p);
    }

    function cidOf(bytes memory content) internal pure returns (bytes memory) {
        return abi.encodePacked(hex"01551220", sha256(content));
    }

    function config(uint8 redundancy) internal view returns (ExecutionCoordinator.FunctionConfig memory) {
        return ExecutionCoordinator.FunctionConfig({
            price: 10_000,
            payTo: payee,
            timeoutMs: TIMEOUT_MS,
            memoryMb: 128,
            redundancy: redundancy,
            policy: redundancy == 1 ? ExecutionCoordinator.Policy.Fastest : ExecutionCoordinator.Policy.Quorum
        });
    }

    function deployFn(string memory name, uint8 redundancy) internal returns (bytes32 id) {
        bytes memory cid = cidOf(bytes(name));
        vm.prank(builder);
        (id,) = coord.deployFunction("demo", name, cid, config(redundancy));
    }

    function newWorker(string memory label) internal returns (address w) {
        w = makeAddr(label);
        vm.deal(w, 10 ether);
        vm.prank(w);
        coord.registerWorker{value: 2 ether}(PUBKEY);
    }

    function newWorkers(uint256 n) internal returns (address[] memory ws) {
        ws = new address[](n);
        for (uint256 i; i < n; ++i) {
            ws[i] = newWorker(string.concat("worker", vm.toString(i)));
        }
    }

    function request(bytes32 fnId) internal returns (uint256 id) {
        vm.prank(gateway);
        id = coord.requestExecution(fnId, keccak256(abi.encode(fnId, block.timestamp, gasleft())));
    }

    function commitAs(address w, uint256 id, bytes32 result) internal {
        bytes32 salt = keccak256(abi.encode(w, "salt"));
        bytes32 commitment = coord.commitmentOf(id, result, w, salt);
        vm.prank(w);
        coord.commit(id, commitment);
    }

    function revealAs(address w, uint256 id, bytes32 result) internal {
        bytes32 salt = keccak256(abi.encode(w, "salt"));
        vm.prank(w);
        coord.reveal(id, result, salt);
    }

    function primary(uint256 id) internal view returns (address) {
        return coord.primaryOf(id);
    }

    function statusOf(uint256 id) internal view returns (ExecutionCoordinator.RequestStatus) {
        return coord.getRequest(id).status;
    }
}
