// Timeout scopes (see tandem/aio/timeouts.hpp).
#include "tandem/aio/timeouts.hpp"

#include <cstdio>

namespace tandem::aio {

Timeout::Timeout(std::optional<TimePoint> when)
    : task_(&detail::current_task_for("aio::timeout")),
      loop_(&task_->loop()),
      when_(when),
      cancelling_at_entry_(task_->cancelling()) {
  fire = &on_fire;
  arm();
}

Timeout::~Timeout() { disarm(); }

void Timeout::arm() {
  if (!when_ || expired_ || exited_) return;
  if (*when_ <= loop_->time()) {
    soon_ = std::make_shared<Timeout*>(this);
    loop_->call_soon([token = soon_] {
      if (Timeout* self = *token) on_fire(self);
    });
    return;
  }
  static_cast<detail::TimerNode&>(*this).when = *when_;
  detail::LoopAccess::add_timer(*loop_, this);
}

void Timeout::disarm() noexcept {
  if (armed()) detail::LoopAccess::remove_timer(*loop_, this);
  if (soon_) {
    *soon_ = nullptr;
    soon_.reset();
  }
}

void Timeout::reschedule(std::optional<TimePoint> when) {
  if (expired_) throw InvalidStateError("aio::Timeout: cannot reschedule after the deadline has passed");
  if (exited_) throw InvalidStateError("aio::Timeout: cannot reschedule a scope that has ended");
  disarm();
  when_ = when;
  arm();
}

void Timeout::on_fire(detail::TimerNode* n) noexcept {
  auto* self = static_cast<Timeout*>(n);
  self->soon_.reset();
  self->expired_ = true;
  self->task_->cancel();
}

void Timeout::exit(std::exception_ptr error) {
  if (!exited_) {
    exited_ = true;
    disarm();
    if (expired_) {
      // Our own cancel() is withdrawn; if nobody else cancelled the task, its CancelledError was ours.
      int left = task_->uncancel();
      if (error && left <= cancelling_at_entry_) {
        bool was_cancel = false;
        try {
          std::rethrow_exception(error);
        } catch (const CancelledError&) {
          was_cancel = true;
        } catch (...) {
        }
        if (was_cancel)
          throw TimeoutError("aio::timeout: the deadline passed and the guarded operation was cancelled");
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace tandem::aio
