import { runWgsl } from "../ops/_tfl_testing.ts";
import { gpuTest } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { DIVIDE_WGSL } from "./f32_divide.ts";

gpuTest("WGSL divide is correctly rounded, like f32 division on the host", async (env) => {
  // Significands at the edges (1, 1 + 2^-23, 2 - 2^-23), signs, exact quotients, and random.
  const rand = seededRandom(3);
  const edges = [1, 3, 1 + 2 ** -23, 2 - 2 ** -23, 1.5, 0.75, 2 ** 20, 2 ** -20, 1 / 3, -12.25, 7];
  const pairs = edges.flatMap((a) => edges.map((b) => [a, b]));
  for (let i = 0; i < 4000; i++) {
    const a = (rand() < 0.5 ? -1 : 1) * 2 ** (rand() * 60 - 30);
    pairs.push([a, 2 ** (rand() * 60 - 30)]);
  }
  const operands = Float32Array.from(pairs.flat());
  const got = await runWgsl(
    env,
    "test_divide",
    `${DIVIDE_WGSL}
fn f(i: u32) -> i32 {
  return bitcast<i32>(divide(bitcast<f32>(x[2u * i]), bitcast<f32>(x[2u * i + 1u])));
}`,
    new Int32Array(operands.buffer),
    pairs.length,
  );
  const actual = new Float32Array(got.buffer);
  // Double rounding of a quotient of f32 values through binary64 is exact (53 >= 2 * 24 + 2).
  pairs.forEach((_, i) => {
    const [a, b] = [operands[2 * i], operands[2 * i + 1]];
    const want = Math.fround(a / b);
    if (actual[i] !== want) throw new Error(`${a} / ${b}: got ${actual[i]}, expected ${want}`);
  });
});
