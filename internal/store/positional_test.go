package store

import "testing"

func TestPositional(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"in order", "INSERT INTO t VALUES (?1, ?2), (?3, ?4)", 4, "INSERT INTO t VALUES (?, ?), (?, ?)"},
		{"past nine", "IN (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", 11, "IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"},
		{"no placeholders", "SELECT 1", 0, "SELECT 1"},
		{"out of order keeps numbers", "a = ?2 AND b = ?1", 2, "a = ?2 AND b = ?1"},
		{"used twice keeps numbers", "a = ?1 OR b = ?1", 1, "a = ?1 OR b = ?1"},
		{"an argument never used keeps numbers", "a = ?1", 2, "a = ?1"},
		{"a bare ? keeps numbers", "a = ?1 AND b = ?", 1, "a = ?1 AND b = ?"},
		{"text after the last", "x = ?1 LIMIT 5", 1, "x = ? LIMIT 5"},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := positional(tt.in, '?', tt.n); got != tt.want {
				t.Errorf("positional(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

// TestDBPositional: the queue's $N statements become plain ? on SQLite only.
func TestDBPositional(t *testing.T) {
	tests := []struct {
		dialect, in, want string
		n                 int
	}{
		{DialectSQLite, "SET v = $1 WHERE id IN ($2, $3)", "SET v = ? WHERE id IN (?, ?)", 3},
		{DialectSQLite, "VALUES ($1, 0, 5, '?'), ($2, 0, 5, '?')", "VALUES (?, 0, 5, '?'), (?, 0, 5, '?')", 2},
		{DialectSQLite, "SET v = $2 WHERE id IN ($1, $3)", "SET v = $2 WHERE id IN ($1, $3)", 3},
		{DialectPostgres, "SET v = $1 WHERE id IN ($2, $3)", "SET v = $1 WHERE id IN ($2, $3)", 3},
	}
	for _, tt := range tests {
		d := &DB{dialect: tt.dialect}
		if got := d.Positional(tt.in, tt.n); got != tt.want {
			t.Errorf("%s: Positional(%q) = %q, want %q", tt.dialect, tt.in, got, tt.want)
		}
	}
}
