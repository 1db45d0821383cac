/**
 * Workgroup tree reductions over f32: each invocation contributes one partial value, the
 * workgroup halves the active range through shared memory each step (log2 of the workgroup
 * size barriers), and every invocation gets the result.
 *
 * @module
 */

/** A reduction to generate: its WGSL function name and how two partials combine. */
export interface WorkgroupReduction {
  /** Name of the generated `fn <name>(value: f32, lid: u32) -> f32`. */
  name: string;
  /** WGSL expression combining partials `a` and `b`, e.g. `a + b` or `max(a, b)`. */
  combine: string;
}

/**
 * WGSL for the given reductions over a workgroup of `workgroupSize` invocations (a power of
 * two). They share one workgroup array; each must be called from uniform control flow by
 * every invocation, with `lid` = `local_invocation_index`.
 */
export function workgroupReduceFns(
  workgroupSize: number,
  reductions: readonly WorkgroupReduction[],
): string {
  if (!Number.isInteger(Math.log2(workgroupSize))) {
    throw new Error(`Workgroup reductions need a power-of-two size, got ${workgroupSize}`);
  }
  const fns = reductions.map(({ name, combine }) => /* wgsl */ `
fn ${name}(value: f32, lid: u32) -> f32 {
  reduce_scratch[lid] = value;
  workgroupBarrier();
  for (var half = ${workgroupSize / 2}u; half > 0u; half >>= 1u) {
    if (lid < half) {
      let a = reduce_scratch[lid];
      let b = reduce_scratch[lid + half];
      reduce_scratch[lid] = ${combine};
    }
    workgroupBarrier();
  }
  let result = reduce_scratch[0];
  workgroupBarrier();
  return result;
}`);
  return `
var<workgroup> reduce_scratch: array<f32, ${workgroupSize}>;
${fns.join("\n")}`;
}

/**
 * The workgroup size for reducing `count` elements per workgroup: 64 for short reductions
 * (such as 7x7 pooling planes), 256 when there is enough work to keep more invocations busy.
 */
export function reductionWorkgroupSize(count: number): 64 | 256 {
  return count <= 1024 ? 64 : 256;
}
