import assert from "node:assert/strict";
import { OnnxImportError } from "./errors.ts";
import { DATA_TYPE, type OnnxTensor } from "./onnx_proto.ts";
import { halfToNumber, numbersFromProto, tensorFromProto, tensorToProto } from "./tensor.ts";

function le(values: number[], type: "f32" | "i32" | "u16" | "i64"): Uint8Array {
  const bytes = new Uint8Array(values.length * { f32: 4, i32: 4, u16: 2, i64: 8 }[type]);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    if (type === "f32") view.setFloat32(4 * i, v, true);
    else if (type === "i32") view.setInt32(4 * i, v, true);
    else if (type === "u16") view.setUint16(2 * i, v, true);
    else view.setBigInt64(8 * i, BigInt(v), true);
  });
  return bytes;
}

function tensor(dataType: number, dims: number[], fields: Partial<OnnxTensor>): OnnxTensor {
  return { name: "t", dims, dataType, ...fields };
}

Deno.test("half-precision bits decode to their IEEE 754 values", () => {
  const cases: [number, number][] = [
    [0x0000, 0],
    [0x3c00, 1],
    [0xc000, -2],
    [0x3555, 0.333251953125],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x0400, 2 ** -14],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ];
  for (const [bits, value] of cases) assert.equal(halfToNumber(bits), value, bits.toString(16));
  assert.ok(Number.isNaN(halfToNumber(0x7e00)));
  assert.ok(Object.is(halfToNumber(0x8000), -0));
});

Deno.test("each supported data type reads from raw_data and from its typed field alike", () => {
  const cases: [number, number[], Partial<OnnxTensor>, Partial<OnnxTensor>, string][] = [
    [DATA_TYPE.FLOAT, [1.5, -2, 3e-7], { rawData: le([1.5, -2, 3e-7], "f32") }, {
      floatData: Float32Array.of(1.5, -2, 3e-7),
    }, "f32"],
    [
      DATA_TYPE.FLOAT16,
      [0x3c00, 0xc000, 0x7bff],
      { rawData: le([0x3c00, 0xc000, 0x7bff], "u16") },
      {
        int32Data: Int32Array.of(0x3c00, 0xc000, 0x7bff),
      },
      "f16",
    ],
    [DATA_TYPE.INT8, [-128, -1, 127], { rawData: Uint8Array.of(0x80, 0xff, 0x7f) }, {
      int32Data: Int32Array.of(-128, -1, 127),
    }, "i8"],
    [DATA_TYPE.UINT8, [0, 128, 255], { rawData: Uint8Array.of(0, 128, 255) }, {
      int32Data: Int32Array.of(0, 128, 255),
    }, "u8"],
    [DATA_TYPE.INT32, [-(2 ** 31), 0, 2 ** 31 - 1], {
      rawData: le([-(2 ** 31), 0, 2 ** 31 - 1], "i32"),
    }, {
      int32Data: Int32Array.of(-(2 ** 31), 0, 2 ** 31 - 1),
    }, "i32"],
    [DATA_TYPE.INT64, [-(2 ** 31), 5, 2 ** 31 - 1], {
      rawData: le([-(2 ** 31), 5, 2 ** 31 - 1], "i64"),
    }, {
      int64Data: BigInt64Array.of(-(2n ** 31n), 5n, 2n ** 31n - 1n),
    }, "i32"],
  ];
  for (const [dataType, expected, raw, typed, dtype] of cases) {
    for (const fields of [raw, typed]) {
      const t = tensorFromProto(tensor(dataType, [3], fields), "T");
      assert.equal(t.dtype, dtype);
      assert.deepEqual(t.shape, [3]);
      assert.deepEqual(
        Array.from(t.data),
        expected.map((v) => (dtype === "f32" ? Math.fround(v) : v)),
      );
    }
  }
});

Deno.test("raw_data at an odd offset is read correctly", () => {
  const buffer = new Uint8Array(13);
  buffer.set(le([1.25, -4], "f32"), 1);
  const t = tensorFromProto(tensor(DATA_TYPE.FLOAT, [2], { rawData: buffer.subarray(1, 9) }), "T");
  assert.deepEqual(Array.from(t.data), [1.25, -4]);
});

Deno.test("numbersFromProto decodes float16 and keeps int64 magnitudes", () => {
  assert.deepEqual(
    numbersFromProto(
      tensor(DATA_TYPE.FLOAT16, [2], { int32Data: Int32Array.of(0x3c00, 0xbc00) }),
      "T",
    ),
    [1, -1],
  );
  assert.deepEqual(
    numbersFromProto(
      tensor(DATA_TYPE.INT64, [2], { int64Data: BigInt64Array.of(2n ** 62n, -3n) }),
      "T",
    ),
    [2 ** 62, -3],
  );
});

Deno.test("tensorToProto round-trips every resin dtype", () => {
  const tensors = [
    { dtype: "f32" as const, shape: [2, 2], data: Float32Array.of(1, -2, 0.5, 1e-8) },
    { dtype: "f16" as const, shape: [1], data: Uint16Array.of(0x3555) },
    { dtype: "i8" as const, shape: [2], data: Int8Array.of(-128, 127) },
    { dtype: "u8" as const, shape: [0], data: new Uint8Array(0) },
    { dtype: "i32" as const, shape: [], data: Int32Array.of(-7) },
  ];
  for (const t of tensors) assert.deepEqual(tensorFromProto(tensorToProto("x", t), "T"), t);
});

Deno.test("bad tensors fail with one-line errors naming the tensor", () => {
  const cases: [OnnxTensor, RegExp][] = [
    [
      tensor(DATA_TYPE.FLOAT, [1], {
        dataLocation: 1,
        externalData: [{ key: "location", value: "w" }],
      }),
      /^T keeps its data in an external file; external-data tensors are not supported/,
    ],
    [tensor(DATA_TYPE.FLOAT, [1], { segmented: true }), /^T is segmented/],
    [tensor(DATA_TYPE.DOUBLE, [1], {}), /^T has data type DOUBLE; resin reads FLOAT, FLOAT16/],
    [
      tensor(DATA_TYPE.FLOAT, [2], { rawData: new Uint8Array(4) }),
      /has 4 bytes of raw data; shape \[2\] of FLOAT needs 8/,
    ],
    [
      tensor(DATA_TYPE.FLOAT, [3], { floatData: Float32Array.of(1) }),
      /has 1 elements in floatData; shape \[3\] needs 3/,
    ],
    [tensor(DATA_TYPE.FLOAT, [3], {}), /has 0 elements in floatData/],
    [
      tensor(DATA_TYPE.INT8, [1], { int32Data: Int32Array.of(128) }),
      /holds 128 in int32_data, out of range for INT8/,
    ],
    [
      tensor(DATA_TYPE.INT64, [2], { int64Data: BigInt64Array.of(0n, 2n ** 31n) }),
      /holds the int64 value 2147483648, outside the int32 range/,
    ],
  ];
  for (const [t, message] of cases) {
    assert.throws(() => tensorFromProto(t, "T"), (err: Error) => {
      assert.ok(err instanceof OnnxImportError);
      assert.match(err.message, message);
      assert.ok(!err.message.includes("\n"));
      return true;
    });
  }
});
