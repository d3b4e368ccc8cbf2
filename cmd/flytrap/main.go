// Command flytrap is the Flytrap error tracker: the local server (`flytrap
// dev`) and the operator's tool.
package main

import (
	"os"

	"github.com/getflytrap/flytrap/internal/cli"
)

func main() {
	os.Exit(cli.Main())
}
