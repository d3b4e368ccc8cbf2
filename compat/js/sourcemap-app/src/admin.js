import { formatMoney } from "./format.js";

// report throws RangeError for a negative amount.
export function report(amounts) {
  return amounts.map((a) => {
    if (a < 0) throw new RangeError("negative amount " + a);
    return formatMoney(a, "eur");
  });
}

globalThis.report = report;
