// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ExecutionCoordinator} from "../src/ExecutionCoordinator.sol";
import {CoordinatorBase} from "./utils/CoordinatorBase.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract GovernanceTest is CoordinatorBase {
    function test_constructorRejectsBadParams() public {
        ExecutionCoordinator.Parameters memory p = defaultParams();
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("revealWindow"), 0));
        new ExecutionCoordinator(admin, 0, TAKEOVER, p);
        vm.expectRevert(
            abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("takeoverWindow"), 0)
        );
        new ExecutionCoordinator(admin, REVEAL_WINDOW, 0, p);
        p.commitWindow = TAKEOVER;
        vm.expectRevert(
            abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("commitWindow"), TAKEOVER)
        );
        new ExecutionCoordinator(admin, REVEAL_WINDOW, TAKEOVER, p);
    }

    function test_setParameters() public {
        ExecutionCoordinator.Parameters memory p = ExecutionCoordinator.Parameters({
            minStake: 5 ether,
            unbondingDelay: 7 days,
            commitWindow: 120,
            feePerExecutionGwei: 42,
            slashBps: 1000,
            primaryShareBps: 7000,
            freeQuotaPerPeriod: 100,
            quotaPeriod: 1 days
        });
        vm.expectEmit(false, false, false, true);
        emit ExecutionCoordinator.ParametersChanged(p);
        vm.prank(admin);
        coord.setParameters(p);
        (
            uint96 minStake,
            uint32 unbondingDelay,
            uint32 commitWindow,
            uint32 fee,
            uint16 slashBps,
            uint16 primaryShareBps,
            uint32 quota,
            uint32 period
        ) = coord.parameters();
        assertEq(minStake, 5 ether);
        assertEq(unbondingDelay, 7 days);
        assertEq(commitWindow, 120);
        assertEq(fee, 42);
        assertEq(slashBps, 1000);
        assertEq(primaryShareBps, 7000);
        assertEq(quota, 100);
        assertEq(period, 1 days);
    }

    function test_setParameters_appliesToNewRequestsOnly() public {
        bytes32 fn = deployFn("f", 1);
        uint256 before = request(fn);
        ExecutionCoordinator.Parameters memory p = defaultParams();
        p.feePerExecutionGwei = FEE_GWEI * 2;
        p.commitWindow = COMMIT_WINDOW * 2;
        setParams(p);
        uint256 afterId = request(fn);
        assertEq(coord.getRequest(before).feeGwei, FEE_GWEI);
        assertEq(coord.getRequest(afterId).feeGwei, FEE_GWEI * 2);
        assertEq(coord.getRequest(afterId).commitDeadline - coord.getRequest(before).commitDeadline, COMMIT_WINDOW);
    }

    function test_setParameters_rejectsBadValues() public {
        ExecutionCoordinator.Parameters memory p;
        vm.startPrank(admin);

        p = defaultParams();
        p.minStake = 0;
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("minStake"), 0));
        coord.setParameters(p);

        p = defaultParams();
        p.commitWindow = 10;
        vm.expectRevert(
            abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("commitWindow"), 10)
        );
        coord.setParameters(p);

        p = defaultParams();
        p.feePerExecutionGwei = type(uint32).max;
        vm.expectRevert(
            abi.encodeWithSelector(
                ExecutionCoordinator.InvalidParameter.selector, bytes32("feePerExecutionGwei"), type(uint32).max
            )
        );
        coord.setParameters(p);

        p = defaultParams();
        p.slashBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("slashBps"), 10_001));
        coord.setParameters(p);

        p = defaultParams();
        p.primaryShareBps = 10_001;
        vm.expectRevert(
            abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("primaryShareBps"), 10_001)
        );
        coord.setParameters(p);

        p = defaultParams();
        p.freeQuotaPerPeriod = 1;
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidParameter.selector, bytes32("quotaPeriod"), 0));
        coord.setParameters(p);
        vm.stopPrank();
    }

    function test_onlyOwner() public {
        bytes memory unauthorized = abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger);
        ExecutionCoordinator.Parameters memory p = defaultParams();
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        coord.setParameters(p);
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
