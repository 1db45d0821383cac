import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Attributes, Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { maxPool } from "./max_pool.ts";
import { maxPoolNhwc, maxPoolNhwcTypeScript } from "./max_pool_nhwc.ts";
import { packNhwc } from "./pack_nhwc.ts";
import { unpackNhwc } from "./unpack_nhwc.ts";

const CASES: { dtype: "u8" | "i8"; shape: number[]; attrs: Attributes }[] = [
  {
    dtype: "u8",
    shape: [1, 5, 9, 8],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
  },
  { dtype: "i8", shape: [2, 3, 7, 7], attrs: { kernel_shape: [2, 3], strides: [1, 2] } },
  {
    dtype: "u8",
    shape: [1, 8, 6, 5],
    attrs: { kernel_shape: [3, 3], ceil_mode: 1, strides: [2, 2] },
  },
  {
    dtype: "i8",
    shape: [1, 4, 9, 9],
    attrs: { kernel_shape: [3, 3], dilations: [2, 2], pads: [2, 2, 2, 2] },
  },
  // Channels in 16s: the WebAssembly kernel (16 and 32 channels, 2 images, asymmetric pads).
  {
    dtype: "u8",
    shape: [2, 16, 11, 10],
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 0, 1, 2] },
  },
  {
    dtype: "i8",
    shape: [1, 32, 7, 9],
    attrs: { kernel_shape: [3, 2], strides: [1, 2], dilations: [2, 1], pads: [2, 1, 0, 1] },
  },
];

function setup(i: number) {
  const c = CASES[i];
  const x = randomTensor(
    seededRandom(i + 1),
    c.dtype,
    c.shape,
    ...(c.dtype === "u8" ? [0, 256] : [-128, 128]),
  );
  const pack: Node = {
    name: "p",
    op: "PackNhwc",
    inputs: ["x"],
    outputs: ["xp"],
    attrs: { pad_value: 0 },
  };
  const [xp] = packNhwc.reference(pack, [x]);
  const node: Node = {
    name: `pool${i}`,
    op: "MaxPoolNhwc",
    inputs: ["xp"],
    outputs: ["y"],
    attrs: c.attrs,
  };
  return { c, x, xp, node };
}

Deno.test("MaxPoolNhwc equals MaxPool on NCHW", () => {
  for (let i = 0; i < CASES.length; i++) {
    const { c, x, xp, node } = setup(i);
    const [expected] = maxPool.reference({ ...node, op: "MaxPool" }, [x]);
    const [packed] = maxPoolNhwc.reference(node, [xp]);
    const unpack: Node = {
      name: "u",
      op: "UnpackNhwc",
      inputs: ["y"],
      outputs: ["z"],
      attrs: { channels: c.shape[1] },
    };
    const [actual] = unpackNhwc.reference(unpack, [packed]);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `case ${i}`);
  }
});

Deno.test("MaxPoolNhwc CPU kernels (WebAssembly, TypeScript) equal the reference", () => {
  for (let i = 0; i < CASES.length; i++) {
    const { xp, node } = setup(i);
    const [expected] = maxPoolNhwc.reference(node, [xp]);
    for (
      const [kernel, run] of [["cpu", maxPoolNhwc.cpu!], ["ts", maxPoolNhwcTypeScript]] as const
    ) {
      assertClose(run(node, [xp])[0].data, expected.data, TOLERANCES.exact, `${kernel} ${i}`);
    }
  }
});

gpuTest("MaxPoolNhwc GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (let i = 0; i < CASES.length; i++) {
    const { xp, node } = setup(i);
    const [actual] = await runNodeOnGpu(gpu, node, [xp], cache);
    assertClose(
      actual.data,
      maxPoolNhwc.reference(node, [xp])[0].data,
      TOLERANCES.exact,
      `GPU case ${i}`,
    );
  }
});
