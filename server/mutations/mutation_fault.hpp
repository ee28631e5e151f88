#pragma once
// The test-only fault hook of the mutation path (docs/mutations.md "Fault injection"): with
// FIELDSYNC_FAULT=kill-after-mutation-commit in the environment, the process kills itself
// with SIGKILL right after the first batch commits and before its answer is sent: what a
// crash at the worst moment looks like. Kept out of mutation_service: the app installs it
// in mutation_options::after_commit only when the variable asks for it.

#include <functional>

namespace fieldsync::server {

// What the service calls right after a batch commits.
using mutation_fault_hook = std::function<void()>;

// The hook the environment asks for (logging a warning when it does); empty otherwise.
mutation_fault_hook mutation_fault_hook_from_environment();

}  // namespace fieldsync::server
