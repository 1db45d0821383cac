/**
 * Dispatch grids larger than one dimension allows: kernels address work by a flat workgroup
 * index, and the host splits the count over x and y.
 *
 * @module
 */

/**
 * Splits `count` workgroups into an [x, y, 1] grid with x, y <= `maxPerDimension`. Kernels
 * recover the flat index with `FLAT_WORKGROUP_INDEX` and must skip indices >= count.
 */
export function workgroupGrid(count: number, maxPerDimension: number): [number, number, number] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`Bad workgroup count ${count}`);
  if (count <= maxPerDimension) return [Math.max(1, count), 1, 1];
  const y = Math.ceil(count / maxPerDimension);
  if (y > maxPerDimension) {
    throw new Error(
      `Dispatch of ${count} workgroups exceeds the device limit of ${maxPerDimension}^2`,
    );
  }
  return [Math.ceil(count / y), y, 1];
}

/**
 * WGSL expression for the flat workgroup index, given builtins named `wid`
 * (`@builtin(workgroup_id)`) and `nwg` (`@builtin(num_workgroups)`).
 */
export const FLAT_WORKGROUP_INDEX = "(wid.x + wid.y * nwg.x)";

/**
 * WGSL opening a kernel that gives each invocation one row of its work, `workgroup`
 * invocations per workgroup on a `workgroupGrid`: declares `main`, binds `row` (the flat
 * invocation index) and returns where `row >= params.rows`. The caller closes the body.
 */
export function rowKernelMain(workgroup: number): string {
  return `@compute @workgroup_size(${workgroup})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${FLAT_WORKGROUP_INDEX} * ${workgroup}u + lid;
  if (row >= params.rows) { return; }`;
}
