/**
 * UnpackNhwc: an NHWC4 tensor [N, H, W, Cp] (nhwc4.ts) back to 8-bit NCHW [N, C, H, W],
 * dropping the padding channels; attribute `channels` is C. Shares its kernel with
 * UnpadChannels (nhwc4_repack.ts).
 *
 * @module
 */

import { unpackOp } from "./nhwc4_repack.ts";
import type { OpDef } from "./op.ts";

/** UnpackNhwc: NHWC4 back to 8-bit NCHW. */
export const unpackNhwc: OpDef = unpackOp("UnpackNhwc", "nchw");
