import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { packNhwc } from "./pack_nhwc.ts";
import { unpackNhwc } from "./unpack_nhwc.ts";

const SHAPES = [[1, 3, 5, 7], [2, 4, 3, 3], [1, 9, 1, 1], [2, 13, 6, 5]];

Deno.test("PackNhwc then UnpackNhwc is the identity, padding holds pad_value", () => {
  for (const [i, shape] of SHAPES.entries()) {
    const x = randomTensor(seededRandom(i + 1), i % 2 ? "i8" : "u8", shape, -128, 256);
    const pack: Node = {
      name: "p",
      op: "PackNhwc",
      inputs: ["x"],
      outputs: ["y"],
      attrs: { pad_value: 7 },
    };
    const [packed] = packNhwc.reference(pack, [x]);
    const cp = packed.shape[3];
    for (let j = 0; j < packed.data.length; j++) {
      if (j % cp >= shape[1] && packed.data[j] !== 7) {
        throw new Error(`pad byte ${j} is ${packed.data[j]}`);
      }
    }
    const unpack: Node = {
      name: "u",
      op: "UnpackNhwc",
      inputs: ["y"],
      outputs: ["z"],
      attrs: { channels: shape[1] },
    };
    const [back] = unpackNhwc.reference(unpack, [packed]);
    assertClose(back.data, x.data, TOLERANCES.exact, `[${shape}]`);
  }
});

gpuTest("PackNhwc and UnpackNhwc GPU kernels match the references", async ({ gpu, cache }) => {
  for (const [i, shape] of SHAPES.entries()) {
    const x = randomTensor(seededRandom(10 + i), i % 2 ? "i8" : "u8", shape, -128, 256);
    const pack: Node = {
      name: `p${i}`,
      op: "PackNhwc",
      inputs: ["x"],
      outputs: ["y"],
      attrs: { pad_value: i % 2 ? -3 : 200 },
    };
    const [packed] = await runNodeOnGpu(gpu, pack, [x], cache);
    assertClose(
      packed.data,
      packNhwc.reference(pack, [x])[0].data,
      TOLERANCES.exact,
      `pack [${shape}]`,
    );
    const unpack: Node = {
      name: `u${i}`,
      op: "UnpackNhwc",
      inputs: ["y"],
      outputs: ["z"],
      attrs: { channels: shape[1] },
    };
    const [back] = await runNodeOnGpu(gpu, unpack, [packed], cache);
    assertClose(back.data, x.data, TOLERANCES.exact, `unpack [${shape}]`);
  }
});
