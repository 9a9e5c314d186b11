// Reference CIDs from the JS UnixFS importer configured as Kubo's `ipfs add`:
// CIDv0 (default): 256 KiB fixed chunks, balanced DAG with at most 174 links, dag-pb "file" leaves;
// CIDv1 (--cid-version=1): the same, with raw leaves. Prints one CID per argument.
//   node tests/storage/kubo_oracle.mjs 0|1 FILE...
import { importer } from 'ipfs-unixfs-importer';
import { fixedSize } from 'ipfs-unixfs-importer/chunker';
import { balanced } from 'ipfs-unixfs-importer/layout';
import { createReadStream } from 'node:fs';

const version = Number(process.argv[2]);
const blockstore = { async put(cid) { return cid; }, async get() { throw new Error('no reads'); }, async has() { return false; } };

for (const path of process.argv.slice(3)) {
  const options = {
    cidVersion: version,
    rawLeaves: version === 1,
    leafType: 'file',
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262144 }),
    layout: balanced({ maxChildrenPerNode: 174 }),
    wrapWithDirectory: false,
  };
  let root;
  for await (const entry of importer([{ content: createReadStream(path) }], blockstore, options)) root = entry.cid;
  console.log(root.toString());
}
