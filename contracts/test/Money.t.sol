// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ExecutionCoordinator} from "../src/ExecutionCoordinator.sol";
import {CoordinatorBase} from "./utils/CoordinatorBase.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @dev A worker contract whose receive() re-enters `withdraw`.
contract ReentrantWorker {
    ExecutionCoordinator internal immutable coord;
    uint256 public reentries;

    constructor(ExecutionCoordinator c) {
        coord = c;
    }

    function register() external payable {
        coord.registerWorker{value: msg.value}(hex"01");
    }

    function submit(uint256 id) external {
        coord.submit(id, "r");
    }

    function pull() external {
        coord.withdraw();
    }

    receive() external payable {
        ++reentries;
        coord.withdraw();
    }
}

/// @dev A depositor whose receive() re-enters `withdrawDeposit`.
contract ReentrantDepositor {
    ExecutionCoordinator internal immutable coord;

    constructor(ExecutionCoordinator c) {
        coord = c;
    }

    function fund() external payable {
        coord.deposit{value: msg.value}();
    }

    function pull(uint256 amount) external {
        coord.withdrawDeposit(amount);
    }

    receive() external payable {
        coord.withdrawDeposit(msg.value);
    }
}

contract MoneyTest is CoordinatorBase {
    function test_deposit_and_withdrawDeposit() public {
        vm.deal(stranger, 5 ether);
        vm.prank(stranger);
        vm.expectRevert(ExecutionCoordinator.ZeroAmount.selector);
        coord.deposit();
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.Deposited(stranger, 3 ether);
        vm.prank(stranger);
        coord.deposit{value: 3 ether}();
        assertEq(coord.deposits(stranger), 3 ether);

        vm.startPrank(stranger);
        vm.expectRevert(ExecutionCoordinator.ZeroAmount.selector);
        coord.withdrawDeposit(0);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InsufficientDeposit.selector, 3 ether, 4 ether));
        coord.withdrawDeposit(4 ether);
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.DepositWithdrawn(stranger, 1 ether);
        coord.withdrawDeposit(1 ether);
        vm.stopPrank();
        assertEq(coord.deposits(stranger), 2 ether);
        assertEq(stranger.balance, 3 ether);
    }

    function test_withdraw_paysOwedOnce() public {
        address w = newWorker("w");
        bytes32 fn = deployFn("f", 1);
        uint256 id = request(fn);
        vm.prank(w);
        coord.submit(id, "r");
        uint256 before = w.balance;
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.Withdrawn(w, FEE);
        vm.prank(w);
        coord.withdraw();
        assertEq(w.balance, before + FEE);
        assertEq(coord.owed(w), 0);
        vm.prank(w);
        vm.expectRevert(ExecutionCoordinator.NothingToWithdraw.selector);
        coord.withdraw();
    }

    function test_attack_reentrancyOnWithdrawFails() public {
        ReentrantWorker attacker = new ReentrantWorker(coord);
        attacker.register{value: 1 ether}();
        bytes32 fn = deployFn("f", 1);
        uint256 id = request(fn);
        attacker.submit(id);
        assertEq(coord.owed(address(attacker)), FEE);
        uint256 balance = address(coord).balance;
        // The nested withdraw reverts (guard), so the outer transfer fails and nothing moves.
        vm.expectRevert(ExecutionCoordinator.TransferFailed.selector);
        attacker.pull();
        assertEq(coord.owed(address(attacker)), FEE);
        assertEq(address(coord).balance, balance);
        assertEq(address(attacker).balance, 0);
    }

    function test_attack_reentrancyOnWithdrawDepositFails() public {
        ReentrantDepositor attacker = new ReentrantDepositor(coord);
        attacker.fund{value: 2 ether}();
        uint256 balance = address(coord).balance;
        vm.expectRevert(ExecutionCoordinator.TransferFailed.selector);
        attacker.pull(1 ether);
        assertEq(coord.deposits(address(attacker)), 2 ether);
        assertEq(address(coord).balance, balance);
    }

    function test_treasury() public {
        vm.deal(stranger, 2 ether);
        vm.prank(stranger);
        vm.expectRevert(ExecutionCoordinator.ZeroAmount.selector);
        coord.fundTreasury();
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.TreasuryFunded(stranger, 2 ether);
        vm.prank(stranger);
        coord.fundTreasury{value: 2 ether}();
        assertEq(coord.treasury(), 2 ether);

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        coord.withdrawTreasury(stranger, 1 ether);
        vm.startPrank(admin);
        vm.expectRevert(ExecutionCoordinator.ZeroAddress.selector);
        coord.withdrawTreasury(address(0), 1 ether);
        vm.expectRevert(ExecutionCoordinator.ZeroAmount.selector);
        coord.withdrawTreasury(admin, 0);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InsufficientTreasury.selector, 2 ether, 3 ether));
        coord.withdrawTreasury(admin, 3 ether);
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.TreasuryWithdrawn(admin, 1 ether);
        coord.withdrawTreasury(admin, 1 ether);
        vm.stopPrank();
        assertEq(admin.balance, 1 ether);
        assertEq(coord.treasury(), 1 ether);
    }

    function test_plainEtherTransfersAreRefused() public {
        vm.deal(stranger, 1 ether);
        vm.prank(stranger);
        (bool ok,) = address(coord).call{value: 1 ether}("");
        assertFalse(ok);
    }

    function test_pauseKeepsExitsOpen() public {
        address w = newWorker("w");
        bytes32 fn = deployFn("f", 1);
        uint256 id = request(fn);
        vm.prank(w);
        coord.submit(id, "r");
        uint256 pending = request(fn);
        vm.prank(admin);
        coord.pause();
        vm.prank(w);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        coord.commit(pending, "c");
        vm.prank(w);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        coord.submit(pending, "c");
        // Money never gets stuck: withdrawals, expiry refunds and unbonding still work.
        vm.prank(w);
        coord.withdraw();
        vm.warp(coord.getRequest(pending).commitDeadline + 1);
        coord.finalize(pending);
        vm.prank(gateway);
        coord.withdrawDeposit(1 ether);
        vm.prank(w);
        coord.beginUnbond();
        vm.prank(admin);
        coord.unpause();
    }
}
