import assert from "node:assert/strict";
import type { Tensor } from "../graph/types.ts";
import { HAS_PYTHON_ONNX, runPython } from "./_test_python.ts";
import { OnnxImportError } from "./errors.ts";
import { decodeTensorPb, encodeTensorPb } from "./tensor_pb.ts";

const SHARED = new URL("../../../shared/", import.meta.url);
const HAS_SHARED = (() => {
  try {
    return Deno.statSync(SHARED).isDirectory;
  } catch {
    return false;
  }
})();
const SETS = ["test_data_set_0", "test_data_set_1"].map((set) =>
  new URL(`models/mobilenetv2-12-int8/${set}/`, SHARED)
);

/** Python: a `.pb` file's name, dtype, dims, and the sha256 of its little-endian elements. */
const PYTHON_PB = `
import hashlib, json, sys
import onnx
from onnx import numpy_helper
out = []
for path in sys.argv[1:]:
    t = onnx.TensorProto()
    t.ParseFromString(open(path, "rb").read())
    a = numpy_helper.to_array(t)
    out.append([t.name, a.dtype.name, list(a.shape), hashlib.sha256(a.astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest()])
print(json.dumps(out))
`;

async function sha256(data: Tensor["data"]): Promise<string> {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const digest = await crypto.subtle.digest("SHA-256", bytes.slice());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test({
  name: "test_data_set .pb files decode and re-encode byte for byte (needs ../shared)",
  ignore: !HAS_SHARED,
  fn: async () => {
    for (const set of SETS) {
      for (
        const [file, name, shape] of [
          ["input_0.pb", "input", [1, 3, 224, 224]],
          ["output_0.pb", "output", [1, 1000]],
        ] as const
      ) {
        const bytes = await Deno.readFile(new URL(file, set));
        const decoded = decodeTensorPb(bytes);
        assert.equal(decoded.name, name);
        assert.equal(decoded.tensor.dtype, "f32");
        assert.deepEqual(decoded.tensor.shape, shape);
        assert.deepEqual(encodeTensorPb(decoded.name, decoded.tensor), bytes);
      }
    }
  },
});

Deno.test({
  name: "decoded .pb values match python3-onnx (needs ../shared and python3-onnx)",
  ignore: !HAS_SHARED || !HAS_PYTHON_ONNX,
  fn: async () => {
    const paths = SETS.flatMap((set) =>
      ["input_0.pb", "output_0.pb"].map((f) => new URL(f, set).pathname)
    );
    const expected = JSON.parse(await runPython(PYTHON_PB, paths));
    const actual = [];
    for (const path of paths) {
      const { name, tensor } = decodeTensorPb(await Deno.readFile(path));
      actual.push([name, "float32", tensor.shape, await sha256(tensor.data)]);
    }
    assert.deepEqual(actual, expected);
  },
});

Deno.test({
  name: "python3-onnx reads every dtype encodeTensorPb writes (needs python3-onnx)",
  ignore: !HAS_PYTHON_ONNX,
  fn: async () => {
    const tensors: [Tensor, string][] = [
      [
        { dtype: "f32", shape: [2, 3], data: Float32Array.of(1, -2.5, 3e-5, 0, 7, -0.125) },
        "float32",
      ],
      [{ dtype: "f16", shape: [3], data: Uint16Array.of(0x3c00, 0xc000, 0x7bff) }, "float16"],
      [{ dtype: "i8", shape: [1, 3], data: Int8Array.of(-128, 0, 127) }, "int8"],
      [{ dtype: "u8", shape: [2], data: Uint8Array.of(0, 255) }, "uint8"],
      [{ dtype: "i32", shape: [], data: Int32Array.of(-(2 ** 31)) }, "int32"],
    ];
    const dir = await Deno.makeTempDir();
    try {
      const paths = [];
      for (const [i, [t]] of tensors.entries()) {
        paths.push(`${dir}/t${i}.pb`);
        await Deno.writeFile(paths[i], encodeTensorPb(`value_${i}`, t));
      }
      const expected = JSON.parse(await runPython(PYTHON_PB, paths));
      for (const [i, [t, dtype]] of tensors.entries()) {
        assert.deepEqual(expected[i], [`value_${i}`, dtype, t.shape, await sha256(t.data)]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a file that is not a TensorProto fails with a one-line OnnxImportError", () => {
  assert.throws(() => decodeTensorPb(Uint8Array.of(0x0a, 0x05, 0x01)), (err: Error) => {
    assert.ok(err instanceof OnnxImportError);
    assert.equal(
      err.message,
      "Not a TensorProto file: Truncated message: 5 bytes needed at byte 2, 1 left",
    );
    return true;
  });
});
