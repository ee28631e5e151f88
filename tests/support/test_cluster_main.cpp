// Replaced by the test-cluster tool (start/stop of the throwaway PostgreSQL cluster).
int main() { return 1; }
