package lambdax

import "testing"

func TestFunctionMemoryMB(t *testing.T) {
	for v, want := range map[string]int64{"512": 512, "10240": 10240, "": 0, "x": 0, "-1": 0} {
		if got := FunctionMemoryMB(func(string) string { return v }); got != want {
			t.Errorf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%q: %d, want %d", v, got, want)
		}
	}
}

func TestMemoryLimitMB(t *testing.T) {
	for memory, want := range map[int64]int64{0: 0, 128: 115, 256: 230, 512: 460, 10240: 9216} {
		if got := MemoryLimitMB(memory); got != want {
			t.Errorf("MemoryLimitMB(%d) = %d, want %d", memory, got, want)
		}
	}
}
