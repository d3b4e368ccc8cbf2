// A small cart module: the error is thrown two calls deep.
export function lineTotal(item) {
  if (item.quantity < 0) {
    throw new RangeError("negative quantity for " + item.sku);
  }
  return item.price * item.quantity;
}

export function cartTotal(items) {
  let total = 0;
  for (const item of items) {
    total += lineTotal(item);
  }
  return total;
}
