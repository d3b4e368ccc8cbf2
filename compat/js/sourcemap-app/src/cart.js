// A shopping cart whose total throws on a missing line: the error the
// source map tests symbolicate.
export function lineTotal(line) {
  return line.price * line.quantity;
}

export function cartTotal(cart) {
  let total = 0;
  for (const line of cart.lines) {
    total += lineTotal(line);
  }
  return total;
}
