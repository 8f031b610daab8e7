package table

// WaitCompactions waits for a writer's background compactions to finish (tests).
func WaitCompactions(w *Writer) { w.waitCompactions() }
