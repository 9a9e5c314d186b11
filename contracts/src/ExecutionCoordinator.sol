// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/**
 * @title ExecutionCoordinator
 * @notice Coordinates PeerHost: a registry of serverless functions (immutable, content-addressed
 * versions), a registry of staked workers, paid execution requests, and commit–reveal
 * verification of results with majority finalization, rewards and slashing.
 *
 * Lifecycle of a request:
 *  - `requestExecution` escrows the fee (from the requester's deposit or the treasury-funded
 *    free quota) and emits {ExecutionRequested} with everything a worker needs.
 *  - Redundancy 1: the primary worker (`activeWorkers[requestId % activeWorkers.length]`) may
 *    `submit` the result in one transaction that also finalizes. Nobody else may answer before
 *    `commitDeadline - TAKEOVER_WINDOW`, so nobody can copy its answer; after that any active
 *    worker may take over with commit–reveal.
 *  - Redundancy > 1: the first `redundancy` workers `commit` keccak256(abi.encode(requestId,
 *    resultHash, worker, salt)); reveals open when all commits are in (or the commit deadline
 *    passed), so no committer can copy another's result.
 *  - `finalize` (anyone): the result revealed by a strict majority of revealers wins; the earliest
 *    majority commit earns the primary share, every majority member an equal share of the rest;
 *    minority and non-revealers are slashed into the treasury. A request without any commit by
 *    its deadline expires and refunds its payer on `finalize`. Without a majority it is
 *    `Unresolved` and refunds its payer.
 *
 * Money is the chain's native currency. Payments are pulled (`withdraw`, `withdrawDeposit`).
 * Invariant: address(this).balance == stakes + owed + deposits + escrow of pending requests + treasury.
 * Fees are accounted in gwei so that a request fits one storage slot.
 */
contract ExecutionCoordinator is Ownable2Step, Pausable, ReentrancyGuard, EIP712 {
    // ------------------------------------------------------------------ types

    /// @notice How a gateway decides that a result can be served.
    enum Policy {
        Fastest,
        Quorum,
        Finalized
    }

    /// @notice Lifecycle state of a request.
    enum RequestStatus {
        None,
        Pending,
        Finalized,
        Expired,
        Unresolved
    }

    /// @notice Per-version configuration a builder chooses at deploy time.
    /// @param price Price per call in atomic units of the x402 asset (0 = free). Mutable via `setPrice`.
    /// @param payTo Receiver of x402 payments. Mutable via `setPrice`.
    /// @param timeoutMs Wall-clock limit of one invocation.
    /// @param memoryMb Memory limit of one invocation.
    /// @param redundancy Number of workers whose results are accepted (1..MAX_REDUNDANCY).
    /// @param policy When the gateway may serve a result.
    struct FunctionConfig {
        uint96 price;
        address payTo;
        uint32 timeoutMs;
        uint32 memoryMb;
        uint8 redundancy;
        Policy policy;
    }

    /// @notice A registered function. `latestVersion == 0` means "never deployed".
    struct FunctionRecord {
        address owner;
        uint32 currentVersion;
        uint32 latestVersion;
        bool active;
        address payTo;
        uint96 price;
    }

    /// @notice An immutable deployed version: code reference and limits.
    struct Version {
        bytes32 codeHash;
        uint32 timeoutMs;
        uint32 memoryMb;
        uint8 redundancy;
        Policy policy;
        uint8 codec;
    }

    /// @notice A worker. `activeIndex` is 1-based into `activeWorkers` (0 = not active).
    struct Worker {
        uint96 stake;
        uint32 openCommitments;
        uint32 activeIndex;
        uint64 unbondingAt;
        bool registered;
    }

    /// @notice A request, packed in one storage slot.
    struct Request {
        address requester;
        uint32 feeGwei;
        uint32 commitDeadline;
        uint8 redundancy;
        uint8 commitCount;
        RequestStatus status;
        bool fromQuota;
    }

    /// @notice A commitment; `hash` is the commitment until revealed, then the result hash.
    struct Commit {
        address worker;
        bool revealed;
        bytes32 hash;
    }

    struct QuotaUsage {
        uint64 period;
        uint64 used;
    }

    // -------------------------------------------------------------- constants

    uint8 public constant MAX_REDUNDANCY = 9;
    uint32 public constant MAX_TIMEOUT_MS = 300_000;
    uint32 public constant MIN_MEMORY_MB = 16;
    uint32 public constant MAX_MEMORY_MB = 8192;
    /// @notice Multicodec of a raw block and of a dag-pb node (CIDv1 codecs accepted for code).
    uint8 public constant CODEC_RAW = 0x55;
    uint8 public constant CODEC_DAG_PB = 0x70;
    uint16 internal constant BPS = 10_000;

    /// @notice Seconds after the commit deadline during which committed workers may reveal.
    uint32 public immutable REVEAL_WINDOW;
    /// @notice Seconds before the commit deadline from which non-primary workers may take over.
    uint32 public immutable TAKEOVER_WINDOW;

    // ------------------------------------------------------------- parameters

    /// @notice The current protocol parameters.
    Parameters public parameters;

    // ------------------------------------------------------------------ state

    mapping(bytes32 functionId => FunctionRecord) private _functions;
    mapping(bytes32 functionId => mapping(uint32 version => Version)) private _versions;

    mapping(address worker => Worker) private _workers;
    address[] private _activeWorkers;

    uint256 public nextRequestId = 1;
    mapping(uint256 requestId => Request) private _requests;
    mapping(uint256 requestId => mapping(uint256 index => Commit)) private _commits;

    mapping(address account => uint256) public deposits;
    mapping(address account => uint256) public owed;
    mapping(address account => QuotaUsage) private _quota;
    uint256 public treasury;

    // ----------------------------------------------------------------- events

    event FunctionDeployed(
        bytes32 indexed functionId,
        address indexed owner,
        uint32 indexed version,
        string project,
        string name,
        bytes codeCid,
        FunctionConfig config
    );
    event FunctionVersionActivated(bytes32 indexed functionId, uint32 indexed version);
    event FunctionPriceChanged(bytes32 indexed functionId, uint96 price, address payTo);
    event FunctionActiveChanged(bytes32 indexed functionId, bool active);

    event WorkerRegistered(address indexed worker, uint256 stake, bytes publicKey);
    event WorkerPublicKeyChanged(address indexed worker, bytes publicKey);
    event StakeAdded(address indexed worker, uint256 amount, uint256 stake);
    event WorkerActivated(address indexed worker);
    event WorkerDeactivated(address indexed worker);
    event UnbondingStarted(address indexed worker, uint64 unlockAt);
    event StakeWithdrawn(address indexed worker, uint256 amount);
    event Slashed(address indexed worker, uint256 indexed requestId, uint256 amount);

    event Deposited(address indexed account, uint256 amount);
    event DepositWithdrawn(address indexed account, uint256 amount);
    event TreasuryFunded(address indexed from, uint256 amount);
    event TreasuryWithdrawn(address indexed to, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    event ExecutionRequested(
        uint256 indexed requestId,
        bytes32 indexed functionId,
        address indexed requester,
        uint32 version,
        bytes32 codeHash,
        uint8 codec,
        bytes32 inputHash,
        uint8 redundancy,
        uint32 commitDeadline,
        uint256 fee,
        address primary
    );
    event ResultCommitted(uint256 indexed requestId, address indexed worker, uint8 index);
    event ResultRevealed(uint256 indexed requestId, address indexed worker, bytes32 resultHash);
    event RequestFinalized(
        uint256 indexed requestId, bytes32 resultHash, address indexed winner, uint8 majority, uint256 reward
    );
    event RequestExpired(uint256 indexed requestId, uint256 refund);
    event RequestUnresolved(uint256 indexed requestId, uint256 refund);

    event ParametersChanged(Parameters parameters);

    // ----------------------------------------------------------------- errors

    error InvalidName(string value);
    error InvalidCid();
    error InvalidConfig(string reason);
    error UnknownFunction(bytes32 functionId);
    error NotFunctionOwner(bytes32 functionId, address caller);
    error FunctionInactive(bytes32 functionId);
    error UnknownVersion(bytes32 functionId, uint32 version);

    error AlreadyRegistered(address worker);
    error NotRegistered(address worker);
    error InsufficientStake(uint256 stake, uint256 minStake);
    error InvalidPublicKey();
    error WorkerNotActive(address worker);
    error AlreadyUnbonding(address worker);
    error NotUnbonding(address worker);
    error UnbondingNotOver(uint64 unlockAt);
    error OpenCommitments(uint32 count);

    error UnknownRequest(uint256 requestId);
    error RequestNotPending(uint256 requestId, RequestStatus status);
    error CommitPhaseOver(uint256 requestId);
    error CommitPhaseOpen(uint256 requestId);
    error RevealPhaseOver(uint256 requestId);
    error AlreadyCommitted(uint256 requestId, address worker);
    error NotCommitted(uint256 requestId, address worker);
    error AlreadyRevealed(uint256 requestId, address worker);
    error CommitmentMismatch(uint256 requestId, address worker);
    error NotPrimary(uint256 requestId, address caller);
    error PrimaryWindow(uint256 requestId, uint32 takeoverAt);
    error NotSingleWorker(uint256 requestId);
    error NotFinalizable(uint256 requestId);

    error InsufficientDeposit(uint256 available, uint256 required);
    error InsufficientTreasury(uint256 available, uint256 required);
    error NothingToWithdraw();
    error TransferFailed();
    error ZeroAddress();
    error ZeroAmount();
    error LengthMismatch();
    error EmptyBatch();
    error InvalidParameter(bytes32 name, uint256 value);

    // ------------------------------------------------------------ constructor

    /// @notice Protocol parameters the owner may change (see `setParameters`).
    /// @param minStake Least stake of an active worker (wei).
    /// @param unbondingDelay Seconds between `beginUnbond` and `withdrawStake`.
    /// @param commitWindow Seconds (beyond the function's timeout) during which results may be committed.
    /// @param feePerExecutionGwei Fee per executing worker of a request, in gwei of the native currency.
    /// @param slashBps Share of its stake a lying or silent worker loses, in basis points.
    /// @param primaryShareBps Share of a request's fee paid to the earliest majority commit, in basis points.
    /// @param freeQuotaPerPeriod Requests per account and period paid by the treasury (0 = no free tier).
    /// @param quotaPeriod Length of a free-quota period in seconds.
    struct Parameters {
        uint96 minStake;
        uint32 unbondingDelay;
        uint32 commitWindow;
        uint32 feePerExecutionGwei;
        uint16 slashBps;
        uint16 primaryShareBps;
        uint32 freeQuotaPerPeriod;
        uint32 quotaPeriod;
    }

    /// @param revealWindow Seconds after the commit deadline during which committed workers may reveal.
    /// @param takeoverWindow Seconds before the commit deadline from which others may answer for the primary.
    constructor(address initialOwner, uint32 revealWindow, uint32 takeoverWindow, Parameters memory parameters)
        Ownable(initialOwner)
        EIP712("PeerHost", "1")
    {
        if (revealWindow == 0) revert InvalidParameter("revealWindow", 0);
        if (takeoverWindow == 0) revert InvalidParameter("takeoverWindow", 0);
        REVEAL_WINDOW = revealWindow;
        TAKEOVER_WINDOW = takeoverWindow;
        _setParameters(parameters);
    }

    // =============================================================== registry

    /// @notice Derives the id of `owner`'s function `name` in `project`.
    function functionIdOf(address owner_, string memory project, string memory name) public pure returns (bytes32) {
        return keccak256(abi.encode(owner_, project, name));
    }

    /**
     * @notice Deploys a new immutable version of the caller's function `project/name`.
     * @param codeCid Binary CIDv1 of the bundle: 0x01, codec (raw 0x55 or dag-pb 0x70), 0x12 0x20, sha-256 digest.
     * @return functionId The function's id (derived from caller, project and name).
     * @return version The new version number (1 for the first deploy).
     */
    function deployFunction(
        string calldata project,
        string calldata name,
        bytes calldata codeCid,
        FunctionConfig calldata config
    ) external whenNotPaused returns (bytes32 functionId, uint32 version) {
        _checkName(project);
        _checkName(name);
        (bytes32 codeHash, uint8 codec) = _parseCid(codeCid);
        _checkConfig(config);

        functionId = functionIdOf(msg.sender, project, name);
        FunctionRecord storage f = _functions[functionId];
        version = f.latestVersion + 1;
        if (f.latestVersion == 0) {
            f.owner = msg.sender;
            f.active = true;
        }
        f.latestVersion = version;
        f.currentVersion = version;
        f.price = config.price;
        f.payTo = config.payTo;
        _versions[functionId][version] = Version({
            codeHash: codeHash,
            timeoutMs: config.timeoutMs,
            memoryMb: config.memoryMb,
            redundancy: config.redundancy,
            policy: config.policy,
            codec: codec
        });
        emit FunctionDeployed(functionId, msg.sender, version, project, name, codeCid, config);
    }

    /// @notice Makes an earlier (or later) deployed version the current one.
    function rollback(bytes32 functionId, uint32 version) external {
        FunctionRecord storage f = _ownedFunction(functionId);
        if (version == 0 || version > f.latestVersion) revert UnknownVersion(functionId, version);
        f.currentVersion = version;
        emit FunctionVersionActivated(functionId, version);
    }

    /// @notice Changes the price per call and the receiver of payments. Applies to the next call.
    function setPrice(bytes32 functionId, uint96 price, address payTo) external {
        if (payTo == address(0)) revert ZeroAddress();
        FunctionRecord storage f = _ownedFunction(functionId);
        f.price = price;
        f.payTo = payTo;
        emit FunctionPriceChanged(functionId, price, payTo);
    }

    /// @notice Enables or disables calls to a function.
    function setActive(bytes32 functionId, bool active) external {
        FunctionRecord storage f = _ownedFunction(functionId);
        f.active = active;
        emit FunctionActiveChanged(functionId, active);
    }

    /// @notice The function record and its current version.
    function getFunction(bytes32 functionId)
        external
        view
        returns (FunctionRecord memory record, Version memory current)
    {
        record = _functions[functionId];
        if (record.latestVersion == 0) revert UnknownFunction(functionId);
        current = _versions[functionId][record.currentVersion];
    }

    /// @notice A deployed version of a function.
    function getVersion(bytes32 functionId, uint32 version) external view returns (Version memory v) {
        v = _versions[functionId][version];
        if (v.codeHash == bytes32(0)) revert UnknownVersion(functionId, version);
    }

    // ================================================================ workers

    /// @notice Registers the caller as a worker with `msg.value` as stake and an encryption public key.
    function registerWorker(bytes calldata publicKey) external payable whenNotPaused {
        Worker storage w = _workers[msg.sender];
        if (w.registered) revert AlreadyRegistered(msg.sender);
        _checkPublicKey(publicKey);
        if (msg.value < parameters.minStake) revert InsufficientStake(msg.value, parameters.minStake);
        w.registered = true;
        w.stake = _toUint96(msg.value);
        emit WorkerRegistered(msg.sender, msg.value, publicKey);
        _activate(msg.sender, w);
    }

    /// @notice Replaces the caller's encryption public key.
    function setPublicKey(bytes calldata publicKey) external {
        if (!_workers[msg.sender].registered) revert NotRegistered(msg.sender);
        _checkPublicKey(publicKey);
        emit WorkerPublicKeyChanged(msg.sender, publicKey);
    }

    /// @notice Adds `msg.value` to the caller's stake; reactivates a worker that fell below `minStake`.
    function addStake() external payable {
        if (msg.value == 0) revert ZeroAmount();
        Worker storage w = _workers[msg.sender];
        if (!w.registered) revert NotRegistered(msg.sender);
        w.stake = _toUint96(uint256(w.stake) + msg.value);
        emit StakeAdded(msg.sender, msg.value, w.stake);
        if (w.activeIndex == 0 && w.unbondingAt == 0 && w.stake >= parameters.minStake) _activate(msg.sender, w);
    }

    /// @notice Leaves the active set and starts the unbonding delay.
    function beginUnbond() external {
        Worker storage w = _workers[msg.sender];
        if (!w.registered) revert NotRegistered(msg.sender);
        if (w.unbondingAt != 0) revert AlreadyUnbonding(msg.sender);
        uint64 unlockAt = uint64(block.timestamp) + parameters.unbondingDelay;
        w.unbondingAt = unlockAt;
        if (w.activeIndex != 0) _deactivate(msg.sender, w);
        emit UnbondingStarted(msg.sender, unlockAt);
    }

    /// @notice After the unbonding delay and with no open commitment, releases the whole stake to `owed`.
    function withdrawStake() external {
        Worker storage w = _workers[msg.sender];
        if (!w.registered) revert NotRegistered(msg.sender);
        if (w.unbondingAt == 0) revert NotUnbonding(msg.sender);
        if (block.timestamp < w.unbondingAt) revert UnbondingNotOver(w.unbondingAt);
        if (w.openCommitments != 0) revert OpenCommitments(w.openCommitments);
        uint256 amount = w.stake;
        delete _workers[msg.sender];
        owed[msg.sender] += amount;
        emit StakeWithdrawn(msg.sender, amount);
    }

    /// @notice A worker's record.
    function getWorker(address worker) external view returns (Worker memory) {
        return _workers[worker];
    }

    /// @notice Whether `worker` is in the active set (may commit and be primary).
    function isActiveWorker(address worker) public view returns (bool) {
        return _workers[worker].activeIndex != 0;
    }

    /// @notice The active worker set, in selection order.
    function activeWorkers() external view returns (address[] memory) {
        return _activeWorkers;
    }

    /// @notice Number of active workers.
    function activeWorkerCount() external view returns (uint256) {
        return _activeWorkers.length;
    }

    /// @notice The worker that may `submit` a redundancy-1 request now (address(0) with no active worker).
    function primaryOf(uint256 requestId) public view returns (address) {
        uint256 n = _activeWorkers.length;
        return n == 0 ? address(0) : _activeWorkers[requestId % n];
    }

    // ================================================================ money

    /// @notice Adds `msg.value` to the caller's request deposit.
    function deposit() external payable {
        if (msg.value == 0) revert ZeroAmount();
        deposits[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value);
    }

    /// @notice Withdraws `amount` of the caller's unused deposit.
    function withdrawDeposit(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = deposits[msg.sender];
        if (amount > available) revert InsufficientDeposit(available, amount);
        deposits[msg.sender] = available - amount;
        emit DepositWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice Adds `msg.value` to the treasury that funds the free quota.
    function fundTreasury() external payable {
        if (msg.value == 0) revert ZeroAmount();
        treasury += msg.value;
        emit TreasuryFunded(msg.sender, msg.value);
    }

    /// @notice Withdraws everything owed to the caller (rewards and released stake).
    function withdraw() external nonReentrant {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        owed[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice Requests left in `account`'s free quota for the current period.
    function freeQuotaLeft(address account) public view returns (uint256) {
        QuotaUsage memory q = _quota[account];
        uint64 period = _currentPeriod();
        uint256 used = q.period == period ? q.used : 0;
        return used >= parameters.freeQuotaPerPeriod ? 0 : parameters.freeQuotaPerPeriod - used;
    }

    // ============================================================== requests

    /// @notice Requests one execution of the current version of `functionId` on the input `inputHash`.
    /// @param inputHash sha-256 of the canonical invocation document (its raw-block CIDv1 digest).
    function requestExecution(bytes32 functionId, bytes32 inputHash)
        external
        whenNotPaused
        returns (uint256 requestId)
    {
        (uint32 feeGwei,) = _feeOf(functionId);
        bool fromQuota = _charge(msg.sender, uint256(feeGwei) * 1 gwei, 1);
        requestId = nextRequestId;
        nextRequestId = requestId + 1;
        _createRequest(requestId, functionId, inputHash, fromQuota);
    }

    /// @notice Requests one execution for each (functionIds[i], inputHashes[i]); ids are consecutive.
    /// @return firstRequestId The id of the first request of the batch.
    function requestExecutionBatch(bytes32[] calldata functionIds, bytes32[] calldata inputHashes)
        external
        whenNotPaused
        returns (uint256 firstRequestId)
    {
        uint256 n = functionIds.length;
        if (n == 0) revert EmptyBatch();
        if (n != inputHashes.length) revert LengthMismatch();
        uint256 total;
        for (uint256 i; i < n; ++i) {
            (uint32 feeGwei,) = _feeOf(functionIds[i]);
            total += uint256(feeGwei) * 1 gwei;
        }
        bool fromQuota = _charge(msg.sender, total, n);
        firstRequestId = nextRequestId;
        nextRequestId = firstRequestId + n;
        for (uint256 i; i < n; ++i) {
            _createRequest(firstRequestId + i, functionIds[i], inputHashes[i], fromQuota);
        }
    }

    /// @notice A request's state.
    function getRequest(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @notice The `index`-th accepted commit of a request.
    function getCommit(uint256 requestId, uint256 index) external view returns (Commit memory) {
        return _commits[requestId][index];
    }

    /// @notice The commitment a worker must commit for `resultHash` (helper for clients and tests).
    function commitmentOf(uint256 requestId, bytes32 resultHash, address worker, bytes32 salt)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(requestId, resultHash, worker, salt));
    }

    // =============================================================== results

    /**
     * @notice Redundancy-1 fast path: the primary worker submits its result, which finalizes the
     * request and pays the whole fee. Allowed until the commit deadline unless someone took over.
     */
    function submit(uint256 requestId, bytes32 resultHash) external whenNotPaused {
        uint256 reward = _submit(requestId, resultHash);
        owed[msg.sender] += reward;
    }

    /// @notice Batch of `submit`; reverts as a whole if any item is not allowed.
    function submitBatch(uint256[] calldata requestIds, bytes32[] calldata resultHashes) external whenNotPaused {
        uint256 n = requestIds.length;
        if (n == 0) revert EmptyBatch();
        if (n != resultHashes.length) revert LengthMismatch();
        uint256 reward;
        for (uint256 i; i < n; ++i) {
            reward += _submit(requestIds[i], resultHashes[i]);
        }
        owed[msg.sender] += reward;
    }

    /// @notice Commits `commitment` = commitmentOf(requestId, resultHash, msg.sender, salt).
    function commit(uint256 requestId, bytes32 commitment) external whenNotPaused {
        Worker storage w = _activeWorker();
        _commit(requestId, commitment);
        w.openCommitments += 1;
    }

    /// @notice Batch of `commit`; reverts as a whole if any item is not allowed.
    function commitBatch(uint256[] calldata requestIds, bytes32[] calldata commitments) external whenNotPaused {
        uint256 n = requestIds.length;
        if (n == 0) revert EmptyBatch();
        if (n != commitments.length) revert LengthMismatch();
        Worker storage w = _activeWorker();
        for (uint256 i; i < n; ++i) {
            _commit(requestIds[i], commitments[i]);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        w.openCommitments += uint32(n); // a batch is bounded by the block gas limit, far below 2^32
    }

    /// @notice Reveals the result behind the caller's commitment. Opens once the commit phase is over.
    function reveal(uint256 requestId, bytes32 resultHash, bytes32 salt) external {
        _reveal(requestId, resultHash, salt);
    }

    /// @notice Batch of `reveal`; reverts as a whole if any item is not allowed.
    function revealBatch(uint256[] calldata requestIds, bytes32[] calldata resultHashes, bytes32[] calldata salts)
        external
    {
        uint256 n = requestIds.length;
        if (n == 0) revert EmptyBatch();
        if (n != resultHashes.length || n != salts.length) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            _reveal(requestIds[i], resultHashes[i], salts[i]);
        }
    }

    /**
     * @notice Settles a request: by majority once every committer revealed or the reveal deadline
     * passed; as expired (refund) when nobody committed by the commit deadline. Anyone may call.
     */
    function finalize(uint256 requestId) external {
        _finalize(requestId);
    }

    /// @notice Batch of `finalize`; reverts as a whole if any item is not finalizable.
    function finalizeBatch(uint256[] calldata requestIds) external {
        uint256 n = requestIds.length;
        if (n == 0) revert EmptyBatch();
        for (uint256 i; i < n; ++i) {
            _finalize(requestIds[i]);
        }
    }

    /// @notice Whether `finalize(requestId)` would succeed now.
    function isFinalizable(uint256 requestId) public view returns (bool) {
        Request memory r = _requests[requestId];
        if (r.status != RequestStatus.Pending) return false;
        if (r.commitCount == 0) return block.timestamp > r.commitDeadline;
        bool commitsClosed = r.commitCount == r.redundancy || block.timestamp > r.commitDeadline;
        if (!commitsClosed) return false;
        if (block.timestamp > uint256(r.commitDeadline) + REVEAL_WINDOW) return true;
        for (uint256 i; i < r.commitCount; ++i) {
            if (!_commits[requestId][i].revealed) return false;
        }
        return true;
    }

    // ============================================================= governance

    function pause() external onlyOwner {
        _pause();
    }

    function unpause() external onlyOwner {
        _unpause();
    }

    /// @notice Replaces the protocol parameters. Requests already made keep their fee and deadlines.
    function setParameters(Parameters calldata newParameters) external onlyOwner {
        _setParameters(newParameters);
    }

    /// @notice Moves `amount` out of the treasury to `to`.
    function withdrawTreasury(address to, uint256 amount) external onlyOwner nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        if (amount > treasury) revert InsufficientTreasury(treasury, amount);
        treasury -= amount;
        emit TreasuryWithdrawn(to, amount);
        _send(to, amount);
    }

    // ============================================================== internals

    function _ownedFunction(bytes32 functionId) private view returns (FunctionRecord storage f) {
        f = _functions[functionId];
        if (f.latestVersion == 0) revert UnknownFunction(functionId);
        if (f.owner != msg.sender) revert NotFunctionOwner(functionId, msg.sender);
    }

    function _feeOf(bytes32 functionId) private view returns (uint32 feeGwei, uint8 redundancy) {
        FunctionRecord storage f = _functions[functionId];
        if (f.latestVersion == 0) revert UnknownFunction(functionId);
        if (!f.active) revert FunctionInactive(functionId);
        redundancy = _versions[functionId][f.currentVersion].redundancy;
        feeGwei = parameters.feePerExecutionGwei * redundancy;
    }

    /// @dev Pays `amount` for `count` requests from the free quota if it covers them all, else the deposit.
    function _charge(address requester, uint256 amount, uint256 count) private returns (bool fromQuota) {
        if (parameters.freeQuotaPerPeriod != 0 && treasury >= amount) {
            QuotaUsage memory q = _quota[requester];
            uint64 period = _currentPeriod();
            if (q.period != period) q = QuotaUsage({period: period, used: 0});
            if (uint256(q.used) + count <= parameters.freeQuotaPerPeriod) {
                // forge-lint: disable-next-line(unsafe-typecast)
                q.used += uint64(count); // count <= parameters.freeQuotaPerPeriod, a uint32
                _quota[requester] = q;
                treasury -= amount;
                return true;
            }
        }
        uint256 available = deposits[requester];
        if (available < amount) revert InsufficientDeposit(available, amount);
        deposits[requester] = available - amount;
        return false;
    }

    function _createRequest(uint256 requestId, bytes32 functionId, bytes32 inputHash, bool fromQuota) private {
        uint32 version = _functions[functionId].currentVersion;
        Version storage v = _versions[functionId][version];
        Request memory r = Request({
            requester: msg.sender,
            feeGwei: parameters.feePerExecutionGwei * v.redundancy,
            commitDeadline: uint32(block.timestamp) + parameters.commitWindow + (v.timeoutMs + 999) / 1000,
            redundancy: v.redundancy,
            commitCount: 0,
            status: RequestStatus.Pending,
            fromQuota: fromQuota
        });
        _requests[requestId] = r;
        _emitRequested(requestId, functionId, inputHash);
    }

    /// @dev Separate from `_createRequest` to stay within the EVM stack; its storage reads are warm.
    function _emitRequested(uint256 requestId, bytes32 functionId, bytes32 inputHash) private {
        uint32 version = _functions[functionId].currentVersion;
        Version storage v = _versions[functionId][version];
        Request storage r = _requests[requestId];
        address primary = primaryOf(requestId);
        emit ExecutionRequested(
            requestId,
            functionId,
            msg.sender,
            version,
            v.codeHash,
            v.codec,
            inputHash,
            r.redundancy,
            r.commitDeadline,
            uint256(r.feeGwei) * 1 gwei,
            primary
        );
    }

    function _submit(uint256 requestId, bytes32 resultHash) private returns (uint256 reward) {
        Request storage r = _requests[requestId];
        Request memory m = r;
        if (m.status != RequestStatus.Pending) _revertNotPending(requestId, m.status);
        if (m.redundancy != 1) revert NotSingleWorker(requestId);
        if (m.commitCount != 0 || block.timestamp > m.commitDeadline) revert CommitPhaseOver(requestId);
        if (primaryOf(requestId) != msg.sender) revert NotPrimary(requestId, msg.sender);
        r.status = RequestStatus.Finalized;
        reward = uint256(m.feeGwei) * 1 gwei;
        emit RequestFinalized(requestId, resultHash, msg.sender, 1, reward);
    }

    function _activeWorker() private view returns (Worker storage w) {
        w = _workers[msg.sender];
        if (w.activeIndex == 0) revert WorkerNotActive(msg.sender);
    }

    function _commit(uint256 requestId, bytes32 commitment) private {
        Request storage r = _requests[requestId];
        Request memory m = r;
        if (m.status != RequestStatus.Pending) _revertNotPending(requestId, m.status);
        if (m.commitCount >= m.redundancy || block.timestamp > m.commitDeadline) revert CommitPhaseOver(requestId);
        if (m.redundancy == 1) {
            uint32 takeoverAt = m.commitDeadline - TAKEOVER_WINDOW;
            if (block.timestamp < takeoverAt && primaryOf(requestId) != msg.sender) {
                revert PrimaryWindow(requestId, takeoverAt);
            }
        }
        mapping(uint256 => Commit) storage commits = _commits[requestId];
        for (uint256 i; i < m.commitCount; ++i) {
            if (commits[i].worker == msg.sender) revert AlreadyCommitted(requestId, msg.sender);
        }
        commits[m.commitCount] = Commit({worker: msg.sender, revealed: false, hash: commitment});
        r.commitCount = m.commitCount + 1;
        emit ResultCommitted(requestId, msg.sender, m.commitCount);
    }

    function _reveal(uint256 requestId, bytes32 resultHash, bytes32 salt) private {
        Request memory m = _requests[requestId];
        if (m.status != RequestStatus.Pending) _revertNotPending(requestId, m.status);
        if (m.commitCount < m.redundancy && block.timestamp <= m.commitDeadline) revert CommitPhaseOpen(requestId);
        if (block.timestamp > uint256(m.commitDeadline) + REVEAL_WINDOW) revert RevealPhaseOver(requestId);
        mapping(uint256 => Commit) storage commits = _commits[requestId];
        for (uint256 i; i < m.commitCount; ++i) {
            Commit storage c = commits[i];
            if (c.worker != msg.sender) continue;
            if (c.revealed) revert AlreadyRevealed(requestId, msg.sender);
            if (c.hash != commitmentOf(requestId, resultHash, msg.sender, salt)) {
                revert CommitmentMismatch(requestId, msg.sender);
            }
            c.revealed = true;
            c.hash = resultHash;
            emit ResultRevealed(requestId, msg.sender, resultHash);
            return;
        }
        revert NotCommitted(requestId, msg.sender);
    }

    function _finalize(uint256 requestId) private {
        if (!isFinalizable(requestId)) {
            Request memory p = _requests[requestId];
            if (p.status != RequestStatus.Pending) _revertNotPending(requestId, p.status);
            revert NotFinalizable(requestId);
        }
        Request storage r = _requests[requestId];
        Request memory m = r;
        uint256 fee = uint256(m.feeGwei) * 1 gwei;

        if (m.commitCount == 0) {
            r.status = RequestStatus.Expired;
            _refund(m, fee);
            emit RequestExpired(requestId, fee);
            return;
        }

        // Find the result with the most reveals; it wins only with a strict majority of revealers.
        Commit[] memory commits = new Commit[](m.commitCount);
        uint256 revealed;
        for (uint256 i; i < m.commitCount; ++i) {
            commits[i] = _commits[requestId][i];
            if (commits[i].revealed) ++revealed;
        }
        bytes32 winning;
        uint256 best;
        for (uint256 i; i < commits.length; ++i) {
            if (!commits[i].revealed) continue;
            uint256 votes;
            for (uint256 j; j < commits.length; ++j) {
                if (commits[j].revealed && commits[j].hash == commits[i].hash) ++votes;
            }
            if (votes > best) {
                best = votes;
                winning = commits[i].hash;
            }
        }
        bool hasMajority = best * 2 > revealed;

        // Effects: status, slashing, open commitments, rewards.
        r.status = hasMajority ? RequestStatus.Finalized : RequestStatus.Unresolved;
        address winner;
        for (uint256 i; i < commits.length; ++i) {
            Worker storage w = _workers[commits[i].worker];
            w.openCommitments -= 1;
            bool inMajority = hasMajority && commits[i].revealed && commits[i].hash == winning;
            if (inMajority) {
                if (winner == address(0)) winner = commits[i].worker;
            } else if (!commits[i].revealed || hasMajority) {
                _slash(commits[i].worker, w, requestId);
            }
        }

        if (!hasMajority) {
            _refund(m, fee);
            emit RequestUnresolved(requestId, fee);
            return;
        }

        uint256 primaryShare = (fee * parameters.primaryShareBps) / BPS;
        uint256 each = (fee - primaryShare) / best;
        for (uint256 i; i < commits.length; ++i) {
            if (commits[i].revealed && commits[i].hash == winning) {
                owed[commits[i].worker] += commits[i].worker == winner ? primaryShare + each : each;
            }
        }
        treasury += fee - primaryShare - each * best;
        // forge-lint: disable-next-line(unsafe-typecast)
        emit RequestFinalized(requestId, winning, winner, uint8(best), primaryShare + each); // best <= MAX_REDUNDANCY
    }

    function _refund(Request memory m, uint256 fee) private {
        if (m.fromQuota) {
            treasury += fee;
        } else {
            deposits[m.requester] += fee;
        }
    }

    function _slash(address worker, Worker storage w, uint256 requestId) private {
        uint256 amount = (uint256(w.stake) * parameters.slashBps) / BPS;
        if (amount == 0) return;
        // forge-lint: disable-next-line(unsafe-typecast)
        w.stake -= uint96(amount); // amount <= stake, a uint96
        treasury += amount;
        emit Slashed(worker, requestId, amount);
        if (w.activeIndex != 0 && w.stake < parameters.minStake) _deactivate(worker, w);
    }

    function _activate(address worker, Worker storage w) private {
        _activeWorkers.push(worker);
        w.activeIndex = uint32(_activeWorkers.length);
        emit WorkerActivated(worker);
    }

    function _deactivate(address worker, Worker storage w) private {
        uint256 index = w.activeIndex - 1;
        uint256 last = _activeWorkers.length - 1;
        if (index != last) {
            address moved = _activeWorkers[last];
            _activeWorkers[index] = moved;
            // forge-lint: disable-next-line(unsafe-typecast)
            _workers[moved].activeIndex = uint32(index + 1); // index < activeWorkers.length
        }
        _activeWorkers.pop();
        w.activeIndex = 0;
        emit WorkerDeactivated(worker);
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }

    function _currentPeriod() private view returns (uint64) {
        return parameters.quotaPeriod == 0 ? 0 : uint64(block.timestamp / parameters.quotaPeriod);
    }

    function _revertNotPending(uint256 requestId, RequestStatus status) private pure {
        if (status == RequestStatus.None) revert UnknownRequest(requestId);
        revert RequestNotPending(requestId, status);
    }

    function _toUint96(uint256 value) private pure returns (uint96) {
        if (value > type(uint96).max) revert InvalidParameter("stake", value);
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint96(value); // checked above
    }

    /// @dev Lowercase DNS label: [a-z0-9-], 1..63 characters, no leading or trailing '-'.
    function _checkName(string calldata value) private pure {
        bytes calldata b = bytes(value);
        uint256 n = b.length;
        if (n == 0 || n > 63 || b[0] == "-" || b[n - 1] == "-") revert InvalidName(value);
        for (uint256 i; i < n; ++i) {
            bytes1 c = b[i];
            if (!((c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-")) revert InvalidName(value);
        }
    }

    /// @dev Accepts a binary CIDv1 with a sha2-256 multihash and the raw or dag-pb codec.
    function _parseCid(bytes calldata cid) private pure returns (bytes32 digest, uint8 codec) {
        if (cid.length != 36 || cid[0] != 0x01 || cid[2] != 0x12 || cid[3] != 0x20) revert InvalidCid();
        codec = uint8(cid[1]);
        if (codec != CODEC_RAW && codec != CODEC_DAG_PB) revert InvalidCid();
        digest = bytes32(cid[4:36]);
        if (digest == bytes32(0)) revert InvalidCid();
    }

    function _checkConfig(FunctionConfig calldata c) private pure {
        if (c.payTo == address(0)) revert InvalidConfig("payTo is the zero address");
        if (c.timeoutMs == 0 || c.timeoutMs > MAX_TIMEOUT_MS) revert InvalidConfig("timeoutMs out of range");
        if (c.memoryMb < MIN_MEMORY_MB || c.memoryMb > MAX_MEMORY_MB) revert InvalidConfig("memoryMb out of range");
        if (c.redundancy == 0 || c.redundancy > MAX_REDUNDANCY) revert InvalidConfig("redundancy out of range");
    }

    function _checkPublicKey(bytes calldata publicKey) private pure {
        if (publicKey.length == 0 || publicKey.length > 65) revert InvalidPublicKey();
    }

    function _setParameters(Parameters memory p) private {
        if (p.minStake == 0) revert InvalidParameter("minStake", 0);
        if (p.commitWindow <= TAKEOVER_WINDOW) revert InvalidParameter("commitWindow", p.commitWindow);
        if (uint256(p.feePerExecutionGwei) * MAX_REDUNDANCY > type(uint32).max) {
            revert InvalidParameter("feePerExecutionGwei", p.feePerExecutionGwei);
        }
        if (p.slashBps > BPS) revert InvalidParameter("slashBps", p.slashBps);
        if (p.primaryShareBps > BPS) revert InvalidParameter("primaryShareBps", p.primaryShareBps);
        if (p.freeQuotaPerPeriod != 0 && p.quotaPeriod == 0) revert InvalidParameter("quotaPeriod", 0);
        parameters = p;
        emit ParametersChanged(p);
    }
}
