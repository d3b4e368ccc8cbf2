#!/usr/bin/env bash
# Regenerates the two minified builds of src/ and the stacks Node prints
# from them. Run from the repository root after `npm ci --prefix compat/js`:
#   internal/symbolicate/testdata/gen.sh
set -euo pipefail
cd "$(dirname "$0")"
esbuild=../../../compat/js/node_modules/.bin/esbuild
# Two different bundles of the same source: an IIFE and an ES module with
# a banner, so every position differs between them.
"$esbuild" src/main.js --bundle --minify --sourcemap --format=iife --outfile=build-a/app.min.js
"$esbuild" src/main.js --bundle --minify --sourcemap --format=esm --banner:js='/* build b */ var buildB = 1;' --outfile=build-b/bundle.min.js
# The stacks name the files by the URLs a browser would have loaded them
# from, so they do not depend on where the repository is checked out.
node -e 'require("./build-a/app.min.js"); process.stdout.write(globalThis.flytrapFixture())' |
	sed "s#$PWD/build-a/#https://shop.example.com/static/js/#" >build-a/stack.txt
node --input-type=module -e 'await import("./build-b/bundle.min.js"); process.stdout.write(globalThis.flytrapFixture())' |
	sed -e "s#file://$PWD/build-b/#https://shop.example.com/assets/#" -e "s#file://$PWD/#https://shop.example.com/#" >build-b/stack.txt
# Classes and arrow functions, for naming frames by their declarations:
# one stack per case, the async one awaited.
"$esbuild" src/classes.js --bundle --minify --sourcemap --format=iife --outfile=build-c/classes.min.js
for c in render construct apply; do
	node -e 'require("./build-c/classes.min.js"); Promise.resolve(globalThis.flytrapClasses["'$c'"]()).then((s) => process.stdout.write(s))' |
		sed "s#$PWD/build-c/#https://shop.example.com/static/js/#" >build-c/$c.txt
done
# build-d is the same source through webpack 5.113 and terser 5.51
# (mode production, devtool source-map, target node), which are not in
# compat/js: built once by hand and kept, with its stacks made as above.
# build-e is the next release of src/ (src-next/main.js adds a coupon
# module ahead of the cart), built as build A and served under the same
# URL: the same two lines, each frame's column past the end of build A's
# first line.
"$esbuild" src-next/main.js --bundle --minify --sourcemap --format=iife --outfile=build-e/app.min.js
node -e 'require("./build-e/app.min.js"); process.stdout.write(globalThis.flytrapFixture())' |
	sed "s#$PWD/build-e/#https://shop.example.com/static/js/#" >build-e/stack.txt
