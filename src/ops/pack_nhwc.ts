/**
 * PackNhwc: an 8-bit NCHW tensor [N, C, H, W] to the NHWC4 layout [N, H, W, Cp] (nhwc4.ts);
 * padding channels are filled with attribute `pad_value` (the tensor's zero point). Shares its
 * kernel with PadChannels (nhwc4_repack.ts).
 *
 * @module
 */

import { packOp } from "./nhwc4_repack.ts";
import type { OpDef } from "./op.ts";

/** PackNhwc: 8-bit NCHW to NHWC4. */
export const packNhwc: OpDef = packOp("PackNhwc", "nchw");
