#pragma once
// deploy-stage and rollback (docs/deploy.md), and the commands that read
// or repair the record: status, history, release unblock, lock release.
#include <memory>

#include "steps/registry.hpp"

namespace steps {

std::unique_ptr<Step> make_deploy_stage();
std::unique_ptr<Step> make_rollback();
std::unique_ptr<Step> make_status();
std::unique_ptr<Step> make_history();
std::unique_ptr<Step> make_release_unblock();
std::unique_ptr<Step> make_lock_release();
std::unique_ptr<Step> make_signoff();
std::unique_ptr<Step> make_notify();
std::unique_ptr<Step> make_db_status();
std::unique_ptr<Step> make_db_plan();

} // namespace steps
