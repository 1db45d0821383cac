import assert from "node:assert/strict";
import { HAS_PYTHON_ONNX, runPython } from "./_test_python.ts";
import { concatValue, gatherValue, type IntValue, shapeValue, sliceValue } from "./fold.ts";

function iota(dims: number[], start = 0): IntValue {
  const n = dims.reduce((p, d) => p * d, 1);
  return { dims, values: Array.from({ length: n }, (_, i) => start + i) };
}

/** numpy's take / concatenate / slicing on the same operands, as [dims, values] pairs. */
const PYTHON_FOLD = `
import json
import numpy as np
a = np.arange(24).reshape(2, 3, 4)
v = np.arange(10, 17)
res = [
    np.take(a, [2, -3, 0], axis=1),
    np.take(a, np.array([[1, 0], [-1, 1]]), axis=2),
    np.take(a, 1, axis=0),
    np.concatenate([a, np.arange(100, 108).reshape(2, 1, 4)], axis=1),
    np.concatenate([a, np.arange(100, 106).reshape(2, 3, 1)], axis=-1),
    v[1:-1:2], v[-1:-100:-3], v[100:], v[5:2], v[::-1],
]
print(json.dumps([[list(r.shape), r.flatten().tolist()] for r in res]))
`;

Deno.test({
  name: "gather, concat and slice of folded values agree with numpy (needs python3-onnx)",
  ignore: !HAS_PYTHON_ONNX,
  fn: async () => {
    const expected = JSON.parse(await runPython(PYTHON_FOLD));
    const a = iota([2, 3, 4]);
    const v = iota([7], 10);
    const big = -(2 ** 31);
    const actual = [
      gatherValue(a, { dims: [3], values: [2, -3, 0] }, 1),
      gatherValue(a, { dims: [2, 2], values: [1, 0, -1, 1] }, 2),
      gatherValue(a, { dims: [], values: [1] }, 0),
      concatValue([a, iota([2, 1, 4], 100)], 1),
      concatValue([a, iota([2, 3, 1], 100)], 2),
      sliceValue(v, 1, -1, 2),
      sliceValue(v, -1, -100, -3),
      sliceValue(v, 100, 2 ** 31 - 1, 1),
      sliceValue(v, 5, 2, 1),
      sliceValue(v, -1, big, -1),
    ];
    assert.deepEqual(actual.map((r) => [r.dims, r.values]), expected);
  },
});

Deno.test("folded values carry symbolic dims through Shape, Gather and Concat", () => {
  const shape = shapeValue(["N", 3, 224, 224]);
  assert.deepEqual(shape, { dims: [4], values: ["N", 3, 224, 224] });
  assert.deepEqual(shapeValue(["N", 3, 224, 224], 1, -1), { dims: [2], values: [3, 224] });
  assert.deepEqual(shapeValue(["N", 3], -10, 10), { dims: [2], values: ["N", 3] });
  const batch = gatherValue(shape, { dims: [1], values: [0] }, 0);
  assert.deepEqual(concatValue([batch, { dims: [1], values: [-1] }], 0), {
    dims: [2],
    values: ["N", -1],
  });
});

Deno.test("bad folds throw RangeErrors naming the problem", () => {
  assert.throws(
    () => gatherValue(iota([3]), { dims: [1], values: [3] }, 0),
    /index 3 is outside \[-3, 2\]/,
  );
  assert.throws(
    () => gatherValue(iota([3]), { dims: [1], values: ["N"] }, 0),
    /index N is outside/,
  );
  assert.throws(
    () => concatValue([iota([2, 3]), iota([3, 3])], 1),
    /Cannot concatenate shapes \[2,3\] and \[3,3\]/,
  );
});
