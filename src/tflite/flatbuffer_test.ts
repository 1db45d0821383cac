import assert from "node:assert/strict";
import { FlatbufferError, rootTable } from "./flatbuffer.ts";
import {
  fbScalar,
  fbString,
  fbSubtable,
  fbTable,
  fbTables,
  fbVector,
  writeFlatbuffer,
} from "./flatbuffer_writer.ts";

const SAMPLE = writeFlatbuffer(
  fbTable([
    fbScalar("u32", 3000000000),
    fbScalar("i8", -5),
    undefined,
    fbScalar("f32", 0.1),
    fbString("héllo"),
    fbVector("i64", [-(2 ** 40), 7]),
    fbVector("i32", [1, -2, 3]),
    fbSubtable(fbTable([fbScalar("bool", 1), fbScalar("f64", Math.PI)])),
    fbTables([fbTable([fbScalar("u16", 65535)]), fbTable([])]),
    fbVector("u8", [9, 8, 7]),
  ]),
  "TEST",
);

Deno.test("FlatBuffer reader reads back what the writer wrote, with defaults for absent fields", () => {
  const root = rootTable(SAMPLE, "Root", "TEST");
  assert.equal(root.scalar(0, "u32", 0), 3000000000);
  assert.equal(root.scalar(1, "i8", 0), -5);
  assert.equal(root.has(2), false);
  assert.equal(root.scalar(2, "i32", 42), 42);
  assert.equal(root.scalar(3, "f32", 0), Math.fround(0.1));
  assert.equal(root.string(4, "name"), "héllo");
  assert.deepEqual(root.scalars(5, "i64", "big"), [-(2 ** 40), 7]);
  assert.deepEqual(root.scalars(6, "i32", "ints"), [1, -2, 3]);
  const sub = root.table(7, "sub")!;
  assert.equal(sub.scalar(0, "bool", 0), 1);
  assert.equal(sub.scalar(1, "f64", 0), Math.PI);
  assert.equal(sub.path, "Root.sub");
  const [first, second] = root.tables(8, "list");
  assert.equal(first.scalar(0, "u16", 0), 65535);
  assert.equal(second.scalar(0, "u16", 11), 11);
  assert.deepEqual([...root.bytes(9, "bytes")], [9, 8, 7]);
  // Fields past the end of the vtable and absent offsets read as empty.
  assert.equal(root.scalar(40, "i32", -1), -1);
  assert.equal(root.table(2, "none"), undefined);
  assert.deepEqual(root.scalars(2, "i32", "none"), []);
  assert.equal(root.string(2, "none"), "");
  // The 8-byte elements are 8-byte aligned.
  assert.equal(root.vectorRange(5, 8, "big").start % 8, 0);
});

Deno.test("FlatBuffer reader rejects a wrong identifier and every truncation of a buffer", () => {
  assert.throws(
    () => rootTable(SAMPLE, "Root", "TFL3"),
    (err: Error) =>
      err instanceof FlatbufferError &&
      err.message === `File identifier is "TEST", expected "TFL3"`,
  );
  assert.throws(() => rootTable(SAMPLE.subarray(0, 5), "Root"), /has 5 bytes, too few/);
  // Reading every field of a prefix fails somewhere with an error naming the field path.
  for (let length = 8; length < SAMPLE.length - 3; length++) {
    assert.throws(
      () => {
        const root = rootTable(SAMPLE.subarray(0, length), "Root");
        root.scalar(0, "u32", 0);
        root.string(4, "name");
        root.scalars(5, "i64", "big");
        root.scalars(6, "i32", "ints");
        root.table(7, "sub")!.scalar(1, "f64", 0);
        for (const t of root.tables(8, "list")) t.scalar(0, "u16", 0);
        root.bytes(9, "bytes");
      },
      (err: Error) =>
        err instanceof FlatbufferError && /lies outside the \d+-byte buffer/.test(err.message),
    );
  }
});

Deno.test("FlatBuffer reader reports the path of a field that points outside the buffer", () => {
  const bytes = SAMPLE.slice();
  const root = rootTable(bytes, "Root");
  const { start } = root.vectorRange(8, 4, "list");
  // Point list[1] far beyond the end.
  new DataView(bytes.buffer).setUint32(start + 4, 1 << 20, true);
  assert.throws(
    () => rootTable(bytes, "Root").tables(8, "list"),
    /^FlatbufferError: Root\.list\[1\] table at byte \d+ \(4 bytes\) lies outside the \d+-byte buffer$/,
  );
});
