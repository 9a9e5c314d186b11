// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ExecutionCoordinator} from "../src/ExecutionCoordinator.sol";
import {CoordinatorBase} from "./utils/CoordinatorBase.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract GovernanceTest is CoordinatorBase {
    function test_constructorRejectsBadParams() public {
        ExecutionCoordinator.Params memory p = defaultParams();
        p.revealWindow = 0;
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("revealWindow"), 0));
        new ExecutionCoordinator(admin, p);
        p = defaultParams();
        p.takeoverWindow = 0;
        vm.expectRevert(
            abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("takeoverWindow"), 0)
        );
        new ExecutionCoordinator(admin, p);
        p = defaultParams();
        p.commitWindow = TAKEOVER;
        vm.expectRevert(
            abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("commitWindow"), TAKEOVER)
        );
        new ExecutionCoordinator(admin, p);
    }

    function test_parameterSetters() public {
        vm.startPrank(admin);
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.ParameterChanged("minStake", 5 ether);
        coord.setMinStake(5 ether);
        coord.setUnbondingDelay(7 days);
        coord.setCommitWindow(120);
        coord.setFeePerExecutionGwei(42);
        coord.setSlashBps(1000);
        coord.setPrimaryShareBps(7000);
        coord.setFreeQuota(100, 1 days);
        vm.stopPrank();
        assertEq(coord.minStake(), 5 ether);
        assertEq(coord.unbondingDelay(), 7 days);
        assertEq(coord.commitWindow(), 120);
        assertEq(coord.feePerExecutionGwei(), 42);
        assertEq(coord.slashBps(), 1000);
        assertEq(coord.primaryShareBps(), 7000);
        assertEq(coord.freeQuotaPerPeriod(), 100);
        assertEq(coord.quotaPeriod(), 1 days);
    }

    function test_parameterSetters_rejectBadValues() public {
        vm.startPrank(admin);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("minStake"), 0));
        coord.setMinStake(0);
        vm.expectRevert(
            abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("commitWindow"), 10)
        );
        coord.setCommitWindow(10);
        vm.expectRevert(
            abi.encodeWithSelector(
                ExecutionCoordinator.InvalidParameter.selector, bytes32("feePerExecutionGwei"), type(uint32).max
            )
        );
        coord.setFeePerExecutionGwei(type(uint32).max);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("slashBps"), 10_001));
        coord.setSlashBps(10_001);
        vm.expectRevert(
            abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("primaryShareBps"), 10_001)
        );
        coord.setPrimaryShareBps(10_001);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("quotaPeriod"), 0));
        coord.setFreeQuota(1, 0);
        vm.stopPrank();
    }

    function test_onlyOwner() public {
        bytes memory unauthorized = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        coord.setMinStake(1);
        vm.expectRevert(unauthorized);
        coord.setUnbondingDelay(1);
        vm.expectRevert(unauthorized);
        coord.setCommitWindow(100);
        vm.expectRevert(unauthorized);
        coord.setFeePerExecutionGwei(1);
        vm.expectRevert(unauthorized);
        coord.setSlashBps(1);
        vm.expectRevert(unauthorized);
        coord.setPrimaryShareBps(1);
        vm.expectRevert(unauthorized);
        coord.setFreeQuota(1, 1);
        vm.expectRevert(unauthorized);
        coord.pause();
        vm.expectRevert(unauthorized);
        coord.unpause();
        vm.stopPrank();
    }

    function test_ownable2Step() public {
        vm.prank(admin);
        coord.transferOwnership(stranger);
        assertEq(coord.owner(), admin, "ownership moves only when accepted");
        assertEq(coord.pendingOwner(), stranger);
        vm.prank(builder);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, builder));
        coord.acceptOwnership();
        vm.prank(stranger);
        coord.acceptOwnership();
        assertEq(coord.owner(), stranger);
    }

    function test_eip712Domain() public view {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            coord.eip712Domain();
        assertEq(name, "PeerHost");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(coord));
    }
}
