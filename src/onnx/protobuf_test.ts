import assert from "node:assert/strict";
import { fieldOf, ProtobufError, ProtoReader, ProtoWriter, WIRE, wireOf } from "./protobuf.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(text.split(" ").map((b) => parseInt(b, 16)));
}

function written(write: (w: ProtoWriter) => void): Uint8Array {
  const w = new ProtoWriter();
  write(w);
  return w.finish();
}

Deno.test("varints match the protobuf encoding guide's examples", () => {
  // https://protobuf.dev/programming-guides/encoding/: field 1 = 150 is "08 96 01".
  assert.equal(hex(written((w) => w.uintField(1, 150))), "08 96 01");
  // An int32 of -1 is sign-extended to ten bytes.
  assert.equal(
    hex(written((w) => w.int64Field(1, -1))),
    "08 ff ff ff ff ff ff ff ff ff 01",
  );
  const r = new ProtoReader(bytesOf("08 96 01"));
  const key = r.key();
  assert.equal(fieldOf(key), 1);
  assert.equal(wireOf(key), WIRE.VARINT);
  assert.equal(r.uintField(key), 150);
  assert.ok(r.done);
});

Deno.test("unsigned varints round-trip at every 7-bit boundary up to 2^53 - 1", () => {
  const values = [0, 1, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28];
  values.push(2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35, 2 ** 49 - 1, 2 ** 49);
  values.push(Number.MAX_SAFE_INTEGER);
  for (const v of values) {
    const bytes = written((w) => w.uint(v));
    // ceil(bits / 7) bytes, at least one.
    assert.equal(bytes.length, Math.max(1, Math.ceil(v.toString(2).length / 7)), `length of ${v}`);
    const r = new ProtoReader(bytes);
    assert.equal(r.uint(), v);
    assert.ok(r.done);
    assert.equal(new ProtoReader(bytes).uint64(), BigInt(v));
  }
});

Deno.test("int64 varints round-trip at the 64-bit extremes", () => {
  const values = [0n, 1n, -1n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 31n), 2n ** 31n];
  for (const v of values) {
    const bytes = written((w) => w.int64(v));
    assert.equal(bytes.length, v < 0n ? 10 : Math.max(1, Math.ceil(v.toString(2).length / 7)));
    assert.equal(new ProtoReader(bytes).int64(), v);
    assert.equal(new ProtoReader(bytes).uint64(), BigInt.asUintN(64, v));
  }
});

Deno.test("int32 reads the low 32 bits of ten-byte negative varints", () => {
  for (const v of [0, 1, -1, 127, -128, 2 ** 31 - 1, -(2 ** 31), 300, -300]) {
    assert.equal(new ProtoReader(written((w) => w.int64(v))).int32(), v);
  }
});

Deno.test("uint rejects values beyond 2^53 and varints past ten bytes", () => {
  const big = written((w) => w.int64(2n ** 53n));
  assert.throws(() => new ProtoReader(big).uint(), /exceeds 2\^53/);
  const eleven = bytesOf("ff ff ff ff ff ff ff ff ff ff 01");
  assert.throws(() => new ProtoReader(eleven).uint64(), /longer than 10 bytes/);
  assert.throws(() => new ProtoReader(eleven).int32(), /longer than 10 bytes/);
  assert.throws(
    () => new ProtoReader(bytesOf("ff ff ff ff ff ff ff ff ff 7f")).uint64(),
    /64 bits/,
  );
});

Deno.test("fixed32, fixed64, float and double are little-endian", () => {
  const bytes = written((w) => {
    w.key(1, WIRE.I32);
    w.float(-1.5);
    w.key(2, WIRE.I64);
    w.double(Math.PI);
  });
  assert.equal(hex(bytes.subarray(0, 5)), "0d 00 00 c0 bf");
  const r = new ProtoReader(bytes);
  assert.equal(r.floatField(r.key()), -1.5);
  r.key();
  assert.equal(r.double(), Math.PI);
  const raw = new ProtoReader(bytesOf("01 02 03 04 05 06 07 08"));
  assert.equal(raw.fixed32(), 0x04030201);
  assert.equal(new ProtoReader(bytesOf("01 02 03 04 05 06 07 08")).fixed64(), 0x0807060504030201n);
});

Deno.test("strings and nested messages are length-delimited", () => {
  const bytes = written((w) => {
    w.stringField(2, "héllo");
    w.message(3, (m) => m.uintField(1, 7));
  });
  const r = new ProtoReader(bytes);
  assert.equal(r.stringField(r.key()), "héllo");
  const inner = r.messageField(r.key());
  assert.equal(inner.uintField(inner.key()), 7);
  assert.ok(inner.done && r.done);
  assert.throws(
    () => {
      const bad = new ProtoReader(bytesOf("12 02 c3 28"));
      bad.stringField(bad.key());
    },
    /not valid UTF-8/,
  );
});

Deno.test("repeated scalars read packed and unpacked alike", () => {
  const floats = [1.5, -2.25, 0, 3e-8];
  const ints = [0, -1, 300, -(2 ** 31), 2 ** 31 - 1];
  const longs = [0n, -1n, 2n ** 62n, -(2n ** 63n)];
  const packed = written((w) => {
    w.packedFloats(4, floats);
    w.packedVarints(5, ints);
    w.packedVarints(7, longs);
    w.packedDoubles(10, [Math.E]);
  });
  const unpacked = written((w) => {
    for (const f of floats) w.floatField(4, f);
    for (const i of ints) w.int64Field(5, i);
    for (const l of longs) w.int64Field(7, l);
    w.key(10, WIRE.I64);
    w.double(Math.E);
  });
  for (const bytes of [packed, unpacked]) {
    const r = new ProtoReader(bytes);
    const got = {
      floats: [] as number[],
      ints: [] as number[],
      longs: [] as bigint[],
      d: [] as number[],
    };
    while (!r.done) {
      const key = r.key();
      if (fieldOf(key) === 4) got.floats.push(...r.packedFloats(key));
      else if (fieldOf(key) === 5) got.ints.push(...r.packedInt32s(key));
      else if (fieldOf(key) === 7) got.longs.push(...r.packedInt64s(key));
      else got.d.push(...r.packedDoubles(key));
    }
    assert.deepEqual(got.floats, floats.map(Math.fround));
    assert.deepEqual(got.ints, ints);
    assert.deepEqual(got.longs, longs);
    assert.deepEqual(got.d, [Math.E]);
  }
  // Packed lengths must fit the element size.
  const r = new ProtoReader(bytesOf("22 03 00 00 00"));
  assert.throws(() => r.packedFloats(r.key()), /not a multiple of 4/);
  const v = new ProtoReader(bytesOf("2a 02 01 80"));
  assert.throws(() => v.packedInt32s(v.key()), /ends inside a varint/);
});

Deno.test("unknown fields of every wire type are skipped, groups included", () => {
  const bytes = written((w) => {
    w.int64Field(9, -5);
    w.key(10, WIRE.I64);
    w.double(1);
    w.stringField(11, "skip me");
    w.key(12, WIRE.START_GROUP);
    w.uintField(1, 3);
    w.key(13, WIRE.START_GROUP);
    w.key(13, WIRE.END_GROUP);
    w.key(12, WIRE.END_GROUP);
    w.floatField(14, 2);
    w.uintField(1, 42);
  });
  const r = new ProtoReader(bytes);
  let found = -1;
  while (!r.done) {
    const key = r.key();
    if (fieldOf(key) === 1) found = r.uintField(key);
    else r.skip(key);
  }
  assert.equal(found, 42);
});

Deno.test("malformed input fails with a ProtobufError naming the problem", () => {
  const cases: [string, (r: ProtoReader) => unknown, RegExp][] = [
    ["08", (r) => r.uintField(r.key()), /Truncated message: varint/],
    ["08 96", (r) => r.uintField(r.key()), /Truncated message: varint/],
    ["12 05 61 62", (r) => r.stringField(r.key()), /Truncated message: 5 bytes needed/],
    ["0d 00 00", (r) => r.floatField(r.key()), /Truncated message: 4 bytes needed/],
    ["0e 00", (r) => r.key(), /Invalid field key 14/],
    ["00", (r) => r.key(), /Invalid field key 0/],
    ["0a 01 00", (r) => r.uintField(r.key()), /wire type length-delimited, expected varint/],
    ["0c", (r) => r.skip(r.key()), /Unexpected end-group/],
    ["0b 08 01", (r) => r.skip(r.key()), /never ends/],
    ["0b 14", (r) => r.skip(r.key()), /ends with field 2/],
  ];
  for (const [input, read, message] of cases) {
    assert.throws(() => read(new ProtoReader(bytesOf(input))), (err: Error) => {
      assert.ok(err instanceof ProtobufError, `${input}: ${err}`);
      assert.match(err.message, message, input);
      return true;
    });
  }
});

Deno.test("the writer refuses values it cannot encode as unsigned", () => {
  assert.throws(() => new ProtoWriter().uint(-1), RangeError);
  assert.throws(() => new ProtoWriter().uint(2 ** 53), RangeError);
  assert.throws(() => new ProtoWriter().uint(1.5), RangeError);
});

Deno.test("a reader over a sub-range stops at its end", () => {
  const bytes = bytesOf("08 01 08 02 08 03");
  const r = new ProtoReader(bytes, 2, 4);
  assert.equal(r.uintField(r.key()), 2);
  assert.ok(r.done);
});
