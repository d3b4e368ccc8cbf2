// Classes, arrow functions and an async method, minified by esbuild, for
// naming frames by their declarations in the minified file.
export class ShoppingCart {
  constructor(lines) {
    if (!Array.isArray(lines)) throw new TypeError("lines must be an array");
    this.lines = lines;
  }

  render() {
    return this.lines.map((line) => this.lineTotal(line)).join(",");
  }

  lineTotal(line) {
    return line.price * line.quantity;
  }

  // load refers to the class by name, so esbuild gives it an inner name.
  static load(data) {
    return new ShoppingCart(data.lines);
  }
}

class Discount {
  async apply(cart) {
    await null;
    return cart.render();
  }
}

const checkoutTotal = (cart) => cart.render();

function stackOf(run) {
  try {
    run();
  } catch (err) {
    return err.stack;
  }
  return "no error";
}

globalThis.flytrapClasses = {
  render: () => stackOf(() => checkoutTotal(ShoppingCart.load({ lines: [{ price: 1, quantity: 2 }, null] }))),
  construct: () => stackOf(() => ShoppingCart.load({})),
  apply: () => new Discount().apply(new ShoppingCart([null])).catch((err) => err.stack),
};
