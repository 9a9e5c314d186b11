// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ExecutionCoordinator} from "../src/ExecutionCoordinator.sol";
import {CoordinatorBase} from "./utils/CoordinatorBase.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

contract RegistryTest is CoordinatorBase {
    bytes internal cidX;
    bytes internal cidBad;
    bytes internal cidV1;
    bytes internal cidV2;
    bytes internal cidV2pb;
    bytes32 internal shaX;

    function setUp() public override {
        super.setUp();
        cidX = cidOf("x");
        cidBad = cidOf("malicious");
        cidV1 = cidOf("v1");
        cidV2 = cidOf("v2");
        cidV2pb = abi.encodePacked(hex"01701220", sha256("v2"));
    }
    function test_deploy_firstVersion() public {
        bytes memory cid = cidV1;
        bytes32 expectedId = coord.functionIdOf(builder, "demo", "hello");
        vm.expectEmit(true, true, true, true);
        emit ExecutionCoordinator.FunctionDeployed(expectedId, builder, 1, "demo", "hello", cid, config(1));
        vm.prank(builder);
        (bytes32 id, uint32 version) = coord.deployFunction("demo", "hello", cid, config(1));
        assertEq(id, expectedId);
        assertEq(version, 1);
        (ExecutionCoordinator.FunctionRecord memory f, ExecutionCoordinator.Version memory v) = coord.getFunction(id);
        assertEq(f.owner, builder);
        assertEq(f.currentVersion, 1);
        assertEq(f.latestVersion, 1);
        assertTrue(f.active);
        assertEq(f.price, 10_000);
        assertEq(f.payTo, payee);
        assertEq(v.codeHash, sha256("v1"));
        assertEq(v.codec, 0x55);
        assertEq(v.timeoutMs, TIMEOUT_MS);
        assertEq(v.memoryMb, 128);
        assertEq(v.redundancy, 1);
    }

    function test_deploy_newVersionsAreImmutable() public {
        vm.startPrank(builder);
        (bytes32 id,) = coord.deployFunction("demo", "hello", cidV1, config(1));
        (, uint32 v2) = coord.deployFunction("demo", "hello", cidV2pb, config(3));
        vm.stopPrank();
        assertEq(v2, 2);
        assertEq(coord.getVersion(id, 1).codeHash, sha256("v1"));
        assertEq(coord.getVersion(id, 2).codeHash, sha256("v2"));
        assertEq(coord.getVersion(id, 2).codec, 0x70);
        assertEq(coord.getVersion(id, 2).redundancy, 3);
        (ExecutionCoordinator.FunctionRecord memory f,) = coord.getFunction(id);
        assertEq(f.currentVersion, 2);
    }

    function test_rollback() public {
        vm.startPrank(builder);
        (bytes32 id,) = coord.deployFunction("demo", "hello", cidV1, config(1));
        coord.deployFunction("demo", "hello", cidV2, config(1));
        vm.expectEmit(true, true, false, false);
        emit ExecutionCoordinator.FunctionVersionActivated(id, 1);
        coord.rollback(id, 1);
        vm.stopPrank();
        (ExecutionCoordinator.FunctionRecord memory f, ExecutionCoordinator.Version memory v) = coord.getFunction(id);
        assertEq(f.currentVersion, 1);
        assertEq(f.latestVersion, 2);
        assertEq(v.codeHash, sha256("v1"));
    }

    function test_rollback_revertsOnUnknownVersion() public {
        bytes32 id = deployFn("hello", 1);
        vm.startPrank(builder);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownVersion.selector, id, uint32(0)));
        coord.rollback(id, 0);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownVersion.selector, id, uint32(2)));
        coord.rollback(id, 2);
        vm.stopPrank();
    }

    function test_attack_nonOwnerCannotDeployOverSomeonesFunction() public {
        bytes32 id = deployFn("hello", 1);
        // The same project/name from another wallet is another function: the owner's is untouched.
        vm.prank(stranger);
        (bytes32 strangerId, uint32 version) =
            coord.deployFunction("demo", "hello", cidBad, config(1));
        assertTrue(strangerId != id);
        assertEq(version, 1);
        (ExecutionCoordinator.FunctionRecord memory f, ExecutionCoordinator.Version memory v) = coord.getFunction(id);
        assertEq(f.owner, builder);
        assertEq(v.codeHash, sha256("hello"));
        // And no owner-only operation accepts the stranger.
        vm.startPrank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotFunctionOwner.selector, id, stranger));
        coord.rollback(id, 1);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotFunctionOwner.selector, id, stranger));
        coord.setPrice(id, 0, stranger);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.NotFunctionOwner.selector, id, stranger));
        coord.setActive(id, false);
        vm.stopPrank();
    }

    function test_setPrice() public {
        bytes32 id = deployFn("hello", 1);
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.FunctionPriceChanged(id, 42, stranger);
        vm.prank(builder);
        coord.setPrice(id, 42, stranger);
        (ExecutionCoordinator.FunctionRecord memory f,) = coord.getFunction(id);
        assertEq(f.price, 42);
        assertEq(f.payTo, stranger);
    }

    function test_setPrice_revertsOnZeroPayTo() public {
        bytes32 id = deployFn("hello", 1);
        vm.prank(builder);
        vm.expectRevert(ExecutionCoordinator.ZeroAddress.selector);
        coord.setPrice(id, 42, address(0));
    }

    function test_setActive_blocksRequests() public {
        bytes32 id = deployFn("hello", 1);
        vm.expectEmit(true, false, false, true);
        emit ExecutionCoordinator.FunctionActiveChanged(id, false);
        vm.prank(builder);
        coord.setActive(id, false);
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.FunctionInactive.selector, id));
        coord.requestExecution(id, bytes32(uint256(1)));
        vm.prank(builder);
        coord.setActive(id, true);
        request(id);
    }

    function test_ownerOps_revertOnUnknownFunction() public {
        bytes32 id = keccak256("nope");
        vm.startPrank(builder);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownFunction.selector, id));
        coord.setActive(id, true);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownFunction.selector, id));
        coord.getFunction(id);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.UnknownVersion.selector, id, uint32(1)));
        coord.getVersion(id, 1);
    }

    function test_deploy_validNames() public {
        vm.startPrank(builder);
        coord.deployFunction("a", "0", cidX, config(1));
        coord.deployFunction("my-project-2", "fn-9", cidX, config(1));
        coord.deployFunction(
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", "x", cidX, config(1)
        );
        vm.stopPrank();
    }

    function test_deploy_revertsOnBadNames() public {
        string[7] memory bad = [
            "",
            "Hello",
            "-lead",
            "trail-",
            "under_score",
            "sp ace",
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
        ];
        vm.startPrank(builder);
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidName.selector, bad[i]));
            coord.deployFunction("demo", bad[i], cidX, config(1));
            vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidName.selector, bad[i]));
            coord.deployFunction(bad[i], "fn", cidX, config(1));
        }
        vm.stopPrank();
    }

    function test_deploy_revertsOnBadCid() public {
        bytes[5] memory bad = [
            abi.encodePacked(hex"1220", sha256("x")), // CIDv0 (no version/codec)
            abi.encodePacked(hex"01711220", sha256("x")), // dag-cbor codec
            abi.encodePacked(hex"01551320", sha256("x")), // not sha2-256
            abi.encodePacked(hex"01551220", bytes32(0)), // empty digest
            abi.encodePacked(hex"01551220", sha256("x"), hex"00") // trailing byte
        ];
        vm.startPrank(builder);
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(ExecutionCoordinator.InvalidCid.selector);
            coord.deployFunction("demo", "fn", bad[i], config(1));
        }
        vm.stopPrank();
    }

    function test_deploy_revertsOnBadConfig() public {
        ExecutionCoordinator.FunctionConfig memory c;
        vm.startPrank(builder);

        c = config(1);
        c.payTo = address(0);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidConfig.selector, "payTo is the zero address"));
        coord.deployFunction("demo", "fn", cidX, c);

        c = config(1);
        c.timeoutMs = 0;
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidConfig.selector, "timeoutMs out of range"));
        coord.deployFunction("demo", "fn", cidX, c);
        c.timeoutMs = 300_001;
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidConfig.selector, "timeoutMs out of range"));
        coord.deployFunction("demo", "fn", cidX, c);

        c = config(1);
        c.memoryMb = 15;
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidConfig.selector, "memoryMb out of range"));
        coord.deployFunction("demo", "fn", cidX, c);
        c.memoryMb = 8193;
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidConfig.selector, "memoryMb out of range"));
        coord.deployFunction("demo", "fn", cidX, c);

        c = config(0);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidConfig.selector, "redundancy out of range"));
        coord.deployFunction("demo", "fn", cidX, c);
        c = config(10);
        vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidConfig.selector, "redundancy out of range"));
        coord.deployFunction("demo", "fn", cidX, c);
        vm.stopPrank();
    }

    function test_deploy_revertsWhenPaused() public {
        vm.prank(admin);
        coord.pause();
        vm.prank(builder);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        coord.deployFunction("demo", "fn", cidX, config(1));
    }

    function testFuzz_functionIdsAreDistinctPerOwner(address a, address b) public view {
        vm.assume(a != b);
        assertTrue(coord.functionIdOf(a, "p", "f") != coord.functionIdOf(b, "p", "f"));
        // Concatenation ambiguity: ("ab","c") and ("a","bc") must differ.
        assertTrue(coord.functionIdOf(a, "ab", "c") != coord.functionIdOf(a, "a", "bc"));
    }

    function testFuzz_nameValidation(bytes memory raw) public {
        string memory name = string(raw);
        bool valid = raw.length > 0 && raw.length <= 63 && raw[0] != "-" && raw[raw.length - 1] != "-";
        for (uint256 i; valid && i < raw.length; ++i) {
            bytes1 c = raw[i];
            valid = (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-";
        }
        vm.prank(builder);
        if (!valid) vm.expectRevert(abi.encodeWithSelector(ExecutionCoordinator.InvalidName.selector, name));
        coord.deployFunction("demo", name, cidX, config(1));
    }
}
