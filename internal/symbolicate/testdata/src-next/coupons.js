// Coupons, new in the next release: bundled ahead of the cart, they move
// every position of the cart's code further along the minified line.
const coupons = {
  SPRING24: { percent: 10, minimum: 20, label: "Spring sale: 10% off orders over 20" },
  WELCOME: { percent: 15, minimum: 0, label: "Welcome: 15% off your first order" },
  FREESHIP: { percent: 0, minimum: 50, label: "Free shipping on orders over 50" },
  LOYALTY: { percent: 5, minimum: 0, label: "Loyalty: 5% off every order, every day" },
};

export function describeCoupon(code) {
  const coupon = coupons[code];
  if (coupon === undefined) {
    return "unknown coupon " + code;
  }
  return coupon.label + " (minimum " + coupon.minimum.toFixed(2) + ")";
}

export function discount(subtotal, code) {
  const coupon = coupons[code];
  if (coupon === undefined || subtotal < coupon.minimum) {
    return 0;
  }
  return Math.round(subtotal * coupon.percent) / 100;
}
