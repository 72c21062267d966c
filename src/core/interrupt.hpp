#pragma once
// Interruption is an outcome: SIGINT/SIGTERM set a flag that long loops poll,
// so they can stop cleanly and the step can still write its artifacts.

namespace core {

void install_interrupt_handlers();
bool interrupted();
void request_interrupt(); // for tests
// The interruption was noticed and is being acted upon (deploy-stage rolls
// back): later loops run again until a second signal arrives.
void clear_interrupt();

} // namespace core
