// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {TestUSDC} from "../src/TestUSDC.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract TestUSDCTest is Test {
    TestUSDC internal usdc;
    address internal owner = makeAddr("owner");
    uint256 internal payerKey = 0xA11CE;
    address internal payer;
    address internal payee = makeAddr("payee");
    address internal relayer = makeAddr("relayer");

    function setUp() public {
        vm.warp(1_700_000_000);
        payer = vm.addr(payerKey);
        usdc = new TestUSDC(owner);
        vm.prank(owner);
        usdc.mint(payer, 100e6);
    }

    function sign(uint256 key, bytes32 typehash, address to, uint256 value, uint256 after_, uint256 before, bytes32 nonce)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 structHash = keccak256(abi.encode(typehash, vm.addr(key), to, value, after_, before, nonce));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", usdc.DOMAIN_SEPARATOR(), structHash));
        (v, r, s) = vm.sign(key, digest);
    }

    function test_metadata() public view {
        assertEq(usdc.name(), "USDC");
        assertEq(usdc.symbol(), "USDC");
        assertEq(usdc.decimals(), 6);
        assertEq(usdc.version(), "2");
        (, string memory name, string memory version, uint256 chainId, address vc,,) = usdc.eip712Domain();
        assertEq(name, "USDC");
        assertEq(version, "2");
        assertEq(chainId, block.chainid);
        assertEq(vc, address(usdc));
        assertEq(
            usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
            keccak256(
                "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
            )
        );
        assertEq(
            usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
            keccak256(
                "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
            )
        );
        assertEq(usdc.CANCEL_AUTHORIZATION_TYPEHASH(), keccak256("CancelAuthorization(address authorizer,bytes32 nonce)"));
    }

    function test_mint_onlyOwner() public {
        vm.prank(payer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, payer));
        usdc.mint(payer, 1);
    }

    function test_transferWithAuthorization() public {
        bytes32 th = usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH();
        (uint8 v, bytes32 r, bytes32 s) = sign(payerKey, th, payee, 10_000, 0, block.timestamp + 60, "n1");
        vm.expectEmit(true, true, false, false);
        emit TestUSDC.AuthorizationUsed(payer, "n1");
        vm.prank(relayer);
        usdc.transferWithAuthorization(payer, payee, 10_000, 0, block.timestamp + 60, "n1", v, r, s);
        assertEq(usdc.balanceOf(payee), 10_000);
        assertEq(usdc.balanceOf(payer), 100e6 - 10_000);
        assertTrue(usdc.authorizationState(payer, "n1"));
    }

    function test_transferWithAuthorization_bytesSignature() public {
        bytes32 th = usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH();
        (uint8 v, bytes32 r, bytes32 s) = sign(payerKey, th, payee, 5, 0, block.timestamp + 60, "n2");
        usdc.transferWithAuthorization(payer, payee, 5, 0, block.timestamp + 60, "n2", abi.encodePacked(r, s, v));
        assertEq(usdc.balanceOf(payee), 5);
    }

    function test_transferWithAuthorization_standardRevertMessages() public {
        bytes32 th = usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH();
        uint256 before = block.timestamp + 60;
        (uint8 v, bytes32 r, bytes32 s) = sign(payerKey, th, payee, 1, 0, before, "n");
        usdc.transferWithAuthorization(payer, payee, 1, 0, before, "n", v, r, s);

        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        usdc.transferWithAuthorization(payer, payee, 1, 0, before, "n", v, r, s);

        (v, r, s) = sign(payerKey, th, payee, 1, 0, block.timestamp, "expired");
        vm.expectRevert(bytes("FiatTokenV2: authorization is expired"));
        usdc.transferWithAuthorization(payer, payee, 1, 0, block.timestamp, "expired", v, r, s);

        (v, r, s) = sign(payerKey, th, payee, 1, block.timestamp, before, "early");
        vm.expectRevert(bytes("FiatTokenV2: authorization is not yet valid"));
        usdc.transferWithAuthorization(payer, payee, 1, block.timestamp, before, "early", v, r, s);

        // Signed by another key; and a tampered amount.
        (v, r, s) = sign(0xB0B, th, payee, 1, 0, before, "other");
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.transferWithAuthorization(payer, payee, 1, 0, before, "other", v, r, s);
        (v, r, s) = sign(payerKey, th, payee, 1, 0, before, "tamper");
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.transferWithAuthorization(payer, payee, 2, 0, before, "tamper", v, r, s);

        (v, r, s) = sign(payerKey, th, payee, 101e6, 0, before, "broke");
        vm.expectRevert(bytes("ERC20: transfer amount exceeds balance"));
        usdc.transferWithAuthorization(payer, payee, 101e6, 0, before, "broke", v, r, s);
    }

    function test_receiveWithAuthorization_onlyPayee() public {
        bytes32 th = usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH();
        (uint8 v, bytes32 r, bytes32 s) = sign(payerKey, th, payee, 7, 0, block.timestamp + 60, "rx");
        vm.prank(relayer);
        vm.expectRevert(bytes("FiatTokenV2: caller must be the payee"));
        usdc.receiveWithAuthorization(payer, payee, 7, 0, block.timestamp + 60, "rx", v, r, s);
        vm.prank(payee);
        usdc.receiveWithAuthorization(payer, payee, 7, 0, block.timestamp + 60, "rx", v, r, s);
        assertEq(usdc.balanceOf(payee), 7);
    }

    function test_cancelAuthorization() public {
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                usdc.DOMAIN_SEPARATOR(),
                keccak256(abi.encode(usdc.CANCEL_AUTHORIZATION_TYPEHASH(), payer, bytes32("c")))
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(payerKey, digest);
        vm.expectEmit(true, true, false, false);
        emit TestUSDC.AuthorizationCanceled(payer, "c");
        usdc.cancelAuthorization(payer, "c", v, r, s);
        assertTrue(usdc.authorizationState(payer, "c"));
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        usdc.cancelAuthorization(payer, "c", v, r, s);

        bytes32 th = usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH();
        (v, r, s) = sign(payerKey, th, payee, 1, 0, block.timestamp + 60, "c");
        vm.expectRevert(bytes("FiatTokenV2: authorization is used or canceled"));
        usdc.transferWithAuthorization(payer, payee, 1, 0, block.timestamp + 60, "c", v, r, s);

        (v, r, s) = vm.sign(0xB0B, digest);
        vm.expectRevert(bytes("FiatTokenV2: invalid signature"));
        usdc.cancelAuthorization(payer, "d", v, r, s);
    }

    function testFuzz_authorizationMovesExactlyValue(uint256 value, bytes32 nonce) public {
        value = bound(value, 0, 100e6);
        bytes32 th = usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH();
        (uint8 v, bytes32 r, bytes32 s) = sign(payerKey, th, payee, value, 0, block.timestamp + 1, nonce);
        usdc.transferWithAuthorization(payer, payee, value, 0, block.timestamp + 1, nonce, v, r, s);
        assertEq(usdc.balanceOf(payee), value);
        assertEq(usdc.balanceOf(payer) + usdc.balanceOf(payee), 100e6);
    }
}
