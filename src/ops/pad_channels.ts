/**
 * PadChannels: an 8-bit NHWC tensor [N, H, W, C] to the NHWC4 layout [N, H, W, Cp] (nhwc4.ts),
 * the padding channels filled with attribute `pad_value` (the tensor's zero point). The TFLite
 * importer inserts it where an int8 NHWC tensor whose channels are not a multiple of 4 (an RGB
 * image) enters the int8 ops. Shares its kernel with PackNhwc (nhwc4_repack.ts).
 *
 * @module
 */

import { packOp } from "./nhwc4_repack.ts";
import type { OpDef } from "./op.ts";

/** PadChannels: 8-bit NHWC to NHWC4. */
export const padChannelsOp: OpDef = packOp("PadChannels", "nhwc");
