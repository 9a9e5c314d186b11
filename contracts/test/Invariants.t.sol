// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {Vm} from "forge-std/Vm.sol";
import {ExecutionCoordinator} from "../src/ExecutionCoordinator.sol";

/// @dev Drives random lifecycles: requests, fast-path submits, commit–reveal, finalize/expiry,
/// stake changes, deposits and withdrawals. Records what the contract emitted as ghost state.
contract CoordinatorHandler is Test {
    ExecutionCoordinator public immutable coord;
    address[] public workers;
    address[] public requesters;
    bytes32[] public functions;
    uint256[] public requestIds;

    mapping(uint256 requestId => uint256) public payouts;
    mapping(address worker => uint256) public slashedTotal;
    mapping(address worker => uint256) public stakedTotal;
    uint256 public maxPayouts;
    bool public slashExceededStake;

    constructor(ExecutionCoordinator c, address[] memory ws, address[] memory rs, bytes32[] memory fns) {
        coord = c;
        workers = ws;
        requesters = rs;
        functions = fns;
        for (uint256 i; i < ws.length; ++i) {
            stakedTotal[ws[i]] = c.getWorker(ws[i]).stake;
        }
    }

    function requestIdCount() external view returns (uint256) {
        return requestIds.length;
    }

    function workerCount() external view returns (uint256) {
        return workers.length;
    }

    function requesterCount() external view returns (uint256) {
        return requesters.length;
    }

    // ------------------------------------------------------------- actions

    function doRequest(uint256 who, uint256 fn, bytes32 input) external {
        address r = requesters[who % requesters.length];
        vm.prank(r);
        try coord.requestExecution(functions[fn % functions.length], input) returns (uint256 id) {
            requestIds.push(id);
        } catch {}
    }

    function doRequestBatch(uint256 who, uint8 n) external {
        n = uint8(bound(n, 1, 8));
        address r = requesters[who % requesters.length];
        bytes32[] memory fns = new bytes32[](n);
        bytes32[] memory inputs = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            fns[i] = functions[i % functions.length];
        }
        vm.prank(r);
        try coord.requestExecutionBatch(fns, inputs) returns (uint256 first) {
            for (uint256 i; i < n; ++i) {
                requestIds.push(first + i);
            }
        } catch {}
    }

    function doSubmit(uint256 idSeed, bytes32 result) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[idSeed % requestIds.length];
        address p = coord.primaryOf(id);
        if (p == address(0)) return;
        _record();
        vm.prank(p);
        try coord.submit(id, result) {} catch {}
        _collect();
    }

    function doCommit(uint256 idSeed, uint256 who, bool honest) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[idSeed % requestIds.length];
        address w = workers[who % workers.length];
        bytes32 result = honest ? bytes32("ok") : bytes32(uint256(uint160(w)));
        bytes32 c = coord.commitmentOf(id, result, w, bytes32(uint256(uint160(w))));
        vm.prank(w);
        try coord.commit(id, c) {} catch {}
    }

    function doReveal(uint256 idSeed, uint256 who, bool honest) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[idSeed % requestIds.length];
        address w = workers[who % workers.length];
        bytes32 result = honest ? bytes32("ok") : bytes32(uint256(uint160(w)));
        vm.prank(w);
        try coord.reveal(id, result, bytes32(uint256(uint160(w)))) {} catch {}
    }

    function doFinalize(uint256 idSeed) external {
        if (requestIds.length == 0) return;
        uint256 id = requestIds[idSeed % requestIds.length];
        _record();
        try coord.finalize(id) {} catch {}
        _collect();
    }

    function doWarp(uint256 secs) external {
        vm.warp(block.timestamp + bound(secs, 1, 200));
    }

    function doWithdraw(uint256 who) external {
        address a = _anyone(who);
        vm.prank(a);
        try coord.withdraw() {} catch {}
    }

    function doDeposit(uint256 who, uint256 amount) external {
        address r = requesters[who % requesters.length];
        amount = bound(amount, 1, 1 ether);
        vm.deal(r, r.balance + amount);
        vm.prank(r);
        coord.deposit{value: amount}();
    }

    function doWithdrawDeposit(uint256 who, uint256 amount) external {
        address r = requesters[who % requesters.length];
        amount = bound(amount, 0, coord.deposits(r));
        vm.prank(r);
        try coord.withdrawDeposit(amount) {} catch {}
    }

    function doFundTreasury(uint256 amount) external {
        amount = bound(amount, 1, 1 ether);
        vm.deal(address(this), amount);
        coord.fundTreasury{value: amount}();
    }

    function doAddStake(uint256 who, uint256 amount) external {
        address w = workers[who % workers.length];
        amount = bound(amount, 1, 2 ether);
        vm.deal(w, w.balance + amount);
        vm.prank(w);
        try coord.addStake{value: amount}() {
            stakedTotal[w] += amount;
        } catch {}
    }

    function doUnbond(uint256 who) external {
        address w = workers[who % workers.length];
        vm.prank(w);
        try coord.beginUnbond() {} catch {}
    }

    function doWithdrawStake(uint256 who) external {
        address w = workers[who % workers.length];
        vm.prank(w);
        try coord.withdrawStake() {
            stakedTotal[w] = 0;
            slashedTotal[w] = 0;
        } catch {}
    }

    function doReregister(uint256 who) external {
        address w = workers[who % workers.length];
        vm.deal(w, w.balance + 1 ether);
        vm.prank(w);
        try coord.registerWorker{value: 1 ether}(hex"01") {
            stakedTotal[w] = 1 ether;
        } catch {}
    }

    // ------------------------------------------------------------- ghosts

    function _anyone(uint256 seed) internal view returns (address) {
        uint256 n = workers.length + requesters.length;
        uint256 i = seed % n;
        return i < workers.length ? workers[i] : requesters[i - workers.length];
    }

    function _record() internal {
        vm.recordLogs();
    }

    function _collect() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(coord)) continue;
            bytes32 topic = logs[i].topics[0];
            if (topic == ExecutionCoordinator.RequestFinalized.selector) {
                uint256 id = uint256(logs[i].topics[1]);
                payouts[id] += 1;
                if (payouts[id] > maxPayouts) maxPayouts = payouts[id];
            } else if (topic == ExecutionCoordinator.Slashed.selector) {
                address w = address(uint160(uint256(logs[i].topics[1])));
                slashedTotal[w] += abi.decode(logs[i].data, (uint256));
                if (slashedTotal[w] > stakedTotal[w]) slashExceededStake = true;
            }
        }
    }

    receive() external payable {}
}

contract InvariantsTest is Test {
    ExecutionCoordinator internal coord;
    CoordinatorHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        coord = new ExecutionCoordinator(
            address(this),
            60,
            30,
            ExecutionCoordinator.Parameters({
                minStake: 1 ether,
                unbondingDelay: 300,
                commitWindow: 60,
                feePerExecutionGwei: 1_000_000,
                slashBps: 5000,
                primaryShareBps: 5000,
                freeQuotaPerPeriod: 3,
                quotaPeriod: 600
            })
        );
        address[] memory ws = new address[](4);
        for (uint256 i; i < ws.length; ++i) {
            ws[i] = makeAddr(string.concat("worker", vm.toString(i)));
            vm.deal(ws[i], 2 ether);
            vm.prank(ws[i]);
            coord.registerWorker{value: 2 ether}(hex"01");
        }
        address[] memory rs = new address[](2);
        for (uint256 i; i < rs.length; ++i) {
            rs[i] = makeAddr(string.concat("requester", vm.toString(i)));
            vm.deal(rs[i], 1 ether);
            vm.prank(rs[i]);
            coord.deposit{value: 1 ether}();
        }
        coord.fundTreasury{value: 0.01 ether}();
        bytes32[] memory fns = new bytes32[](2);
        ExecutionCoordinator.FunctionConfig memory cfg = ExecutionCoordinator.FunctionConfig({
            price: 0,
            payTo: address(this),
            timeoutMs: 1000,
            memoryMb: 64,
            redundancy: 1,
            policy: ExecutionCoordinator.Policy.Fastest
        });
        (fns[0],) = coord.deployFunction("inv", "one", abi.encodePacked(hex"01551220", sha256("one")), cfg);
        cfg.redundancy = 3;
        cfg.policy = ExecutionCoordinator.Policy.Quorum;
        (fns[1],) = coord.deployFunction("inv", "three", abi.encodePacked(hex"01551220", sha256("three")), cfg);

        handler = new CoordinatorHandler(coord, ws, rs, fns);
        targetContract(address(handler));
    }

    /// @dev balance == stakes + owed + deposits + escrow of pending requests + treasury.
    function invariant_balanceEqualsLiabilities() public view {
        uint256 sum = coord.treasury() + coord.owed(address(handler));
        for (uint256 i; i < handler.workerCount(); ++i) {
            address w = handler.workers(i);
            sum += coord.getWorker(w).stake + coord.owed(w) + coord.deposits(w);
        }
        for (uint256 i; i < handler.requesterCount(); ++i) {
            address r = handler.requesters(i);
            sum += coord.deposits(r) + coord.owed(r);
        }
        for (uint256 i; i < handler.requestIdCount(); ++i) {
            ExecutionCoordinator.Request memory r = coord.getRequest(handler.requestIds(i));
            if (r.status == ExecutionCoordinator.RequestStatus.Pending) sum += uint256(r.feeGwei) * 1 gwei;
        }
        assertEq(address(coord).balance, sum);
    }

    function invariant_finalizedRequestIsNeverPaidTwice() public view {
        assertLe(handler.maxPayouts(), 1);
    }

    function invariant_slashNeverExceedsStake() public view {
        assertFalse(handler.slashExceededStake());
    }

    function invariant_activeSetIsConsistent() public view {
        address[] memory active = coord.activeWorkers();
        for (uint256 i; i < active.length; ++i) {
            ExecutionCoordinator.Worker memory w = coord.getWorker(active[i]);
            assertEq(w.activeIndex, i + 1);
            (uint96 minStake,,,,,,,) = coord.parameters();
            assertGe(w.stake, minStake);
            assertEq(w.unbondingAt, 0);
        }
    }
}
