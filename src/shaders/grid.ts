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
