/**
 * Small JPEG fixtures the jpeg-js encoder cannot make (4:2:0, grayscale, progressive), as
 * base64. All four hold {@link fixturePattern} at 37x21 (odd sizes: partial MCUs). Made once
 * with libjpeg-turbo 2.1.5 from a binary PPM of the pattern:
 *
 *     cjpeg -quality 95 -sample 2x2 -outfile color_baseline.jpg pattern.ppm
 *     cjpeg -quality 95 -grayscale -outfile gray_baseline.jpg pattern.ppm
 *     jpegtran -progressive -outfile color_progressive.jpg color_baseline.jpg
 *     jpegtran -progressive -outfile gray_progressive.jpg gray_baseline.jpg
 *
 * jpegtran re-encodes losslessly (same DCT coefficients), so each progressive file must decode
 * to exactly the pixels of its baseline twin.
 *
 * @module
 */

/** Width and height of the fixtures. */
export const FIXTURE_SIZE = { width: 37, height: 21 } as const;

/** The RGB value the fixtures were encoded from at pixel (x, y). */
export function fixturePattern(x: number, y: number): [number, number, number] {
  const { width: w, height: h } = FIXTURE_SIZE;
  return [
    Math.round(255 * x / (w - 1)),
    Math.round(255 * y / (h - 1)),
    Math.round(127.5 + 120 * Math.sin((x + 2 * y) / 4)),
  ];
}

/** Decodes a base64 fixture. */
export function fixtureBytes(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/** YCbCr 4:2:0, baseline (SOF0). */
export const COLOR_BASELINE =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJ" +
  "BwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoK" +
  "CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wAARCAAVACUDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAA" +
  "AAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAk" +
  "M2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKT" +
  "lJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QA" +
  "HwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdh" +
  "cRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hp" +
  "anN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk" +
  "5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD8ytO+Gul6SgttK0xSw4yErpPDf7PvijxXMoWwZUY/3a+yfh/+" +
  "xpZWCpd6vbKT1O4V6Zpfwo0PQIhb6dpqFhwCq1+08Zca8XZ/g/r/AIh5vHLcCtY4alJKTXayPx3w68ZaFKUI4R88" +
  "v5mfJXw//Y0srBEu9XtlJ6ncK9M0r4U6F4fjFvp2moWHdUr6J0L4IeJfFMyx22nsEJ7LXrPw+/YwRdl3rFsPU7hX" +
  "5VgvGrH4qnLLPCzKlRpbSxdZWfnK7+8/uXgTxdjFwnjcRd/ypnxxZ/B/xLq0fn22msFHTC0V+jOl/A7wpolqLNNP" +
  "Q477aK+AxuOozxc5Ztxvy4lv94oz0Uuy16H9U4Lxrf1WHs6eltDx608NWuqXIgeTYucfKterfDD9n7wfqDxz3js5" +
  "PPMY/wAaKK/nTw4xOJ8QvEapPiSpLFOMtPaSbS17Xt+B/wAwXBuZY/C4SCo1HH0Pb9A+FPhLw7aKbKxQlRwSlXo9" +
  "BtbycW4IRc4+VaKK0+lhxfxLw1Rp5VlOJlQw7snCnaKt8kn+J/a3hLjMVWcZ1JtvzO38L/Azw1qVh9oubhyxP/PM" +
  "f40UUV+I8P8ACPDmOyahiMRh1Oco3bbk233ep/WNHO82jSilWdj/2Q==";

/** The same coefficients, progressive (SOF2). */
export const COLOR_PROGRESSIVE =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJ" +
  "BwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoK" +
  "CgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wgARCAAVACUDASIAAhEBAxEB/8QAGQAAAwEBAQAAAAAAAAAAAAAA" +
  "AAYHBQgD/8QAFwEBAQEBAAAAAAAAAAAAAAAABgcCCf/aAAwDAQACEAMQAAAB5k0rKzNB0kZqK2FblHDowP1VPawn" +
  "XMB39w1a9wARWf/EABoQAAIDAQEAAAAAAAAAAAAAAAMEAQIFAAb/2gAIAQEAAQUCHmiFy3n2mpz/ABtKcLKAvFMd" +
  "ksZ/jaU4WUAEAxGWpz/GcLDVDWq1S2zPPpk4GUovWAVvKuGsSn//xAAhEQABAwQBBQAAAAAAAAAAAAABAAIDBAUG" +
  "ERIhIiNRgf/aAAgBAwEBPwHHcyY0gRdT7Viy4DRmk+KHNfEOLVZqmeKIcHaWJTSv0XFMrasNHev/xAAkEQABAwQB" +
  "AwUAAAAAAAAAAAADAQIFAAQGEUEHIUISE1Fhsf/aAAgBAgEBPwGZmpe/D7+Q3aWwOBtXvQc1OVq22LWvobyV/wC0" +
  "Y7FKq3c3onlpeaxwhMhyNyyTlLpfJa6sS8lGsba2hFYP4b2qPiI49mwhB7VU+6//xAAeEAACAwABBQAAAAAAAAAA" +
  "AAAAAwIREgETIjKhsf/aAAgBAQAGPwLKlngabEytZcVmmxMrWVFZp0THTKs45n8OyBk1KXo//8QAHBAAAwEAAwEB" +
  "AAAAAAAAAAAAAAERYXGBkSFB/9oACAEBAAE/IUsN4EuOk8EqW7Ig3EUVnAlS3ZFG4hJYnAlT2EOTwtMLEOGmwtx+" +
  "YfjSxFWKP//aAAwDAQACAAMAAAAQy1OB9A//xAAbEQEBAAIDAQAAAAAAAAAAAAABABFhIUFRcf/aAAgBAwEBPxB9" +
  "dyczz4Z+kxxBafEgqu4SFi//xAAeEQEAAgIBBQAAAAAAAAAAAAABESEAUaExQWGBkf/aAAgBAgEBPxCFcWMI1BhR" +
  "+iKHzJ+5M5WlJoX2x4hRIhepjjFyqBiEegecCxOKqV23n//EABsQAQADAAMBAAAAAAAAAAAAAAEAESExQVHR/9oA" +
  "CAEBAAE/ECLwyyQRShf55aQoqO40TBxULvPLSC1RgwPEb1FdvrSDla7gzuqg5Vd0fY1NRiyBCXVC2qnx9n//2Q==";

/** One component (grayscale), baseline. */
export const GRAY_BASELINE =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJ" +
  "BwYGCAsICQoKCgoKBggLDAsKDAkKCgr/wAALCAAVACUBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcI" +
  "CQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcY" +
  "GRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKj" +
  "pKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/APzK" +
  "074a6XpKC20rTFLDjISuk8N/s++KPFcyhbBlRj/dr2D4f/saWVgiXer2yk9TuFemaV8KdC8Pxi307TULDuqVt2fw" +
  "f8S6tH59tprBR0wtO+H/AOxpZWCpd6vbKT1O4V6Zpfwo0PQIhb6dpqFhwCq10GhfBDxL4pmWO209ghPZa9Z+H37G" +
  "CLsu9Yth6ncK9S0v4HeFNEtRZpp6HHfbXj1p4atdUuRA8mxc4+Va9W+GH7P3g/UHjnvHZyeeYx/jXt+gfCnwl4dt" +
  "FNlYoSo4JSr0eg2t5OLcEIucfKtdv4X+BnhrUrD7Rc3Dlif+eY/xr//Z";

/** The same coefficients, progressive. */
export const GRAY_PROGRESSIVE =
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJ" +
  "BwYGCAsICQoKCgoKBggLDAsKDAkKCgr/wgALCAAVACUBAREA/8QAGQABAAIDAAAAAAAAAAAAAAAABgEFAwQI/9oA" +
  "CAEBAAAAAeZLJgm3pTWCxSPVt895/8QAGhAAAgMBAQAAAAAAAAAAAAAAAwQBAgUABv/aAAgBAQABBQIeaIXLefaa" +
  "nP8AG0pwsoC8Ux2Sxn+NpThZQAQDEZanP8ZwsNUNarVLbM8+mTgZSi9YBW8q4axKf//EAB4QAAIDAAEFAAAAAAAA" +
  "AAAAAAADAhESARMiMqGx/9oACAEBAAY/AsqWeBpsTK1lxWabEytZUVmnRMdMqzjmfw7IGTUpej//xAAcEAADAQAD" +
  "AQEAAAAAAAAAAAAAARFhcYGRIUH/2gAIAQEAAT8hSw3gS46TwSpbsiDcRRWcCVLdkUbiElicCVPYQ5PC0wsQ4abC" +
  "3H5h+NLEVYo//9oACAEBAAAAEPDN/8QAGxABAAMAAwEAAAAAAAAAAAAAAQARITFBUdH/2gAIAQEAAT8QIvDLJBFK" +
  "F/nlpCio7jRMHFQu88tILVGDA8RvUV2+tIOVruDO6qDlV3R9jU1GLIEJdULaqfH2f//Z";
