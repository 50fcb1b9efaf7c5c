// The order in which a partition's ads went idle: a doubly linked list threaded through
// the entries themselves (each embeds an idle_hook), from the longest idle to the most
// recently active. Touching an entry moves it to the back, so the list stays ordered by
// last activity, and the idle sweep visits only the ads idle for the idle timeout (those
// it stops, and those it must keep because their state is not durable yet), not every
// active ad: with 550k active ads the sweep that walked them all took a quarter of
// adclickd's CPU (perf, bench ads-hour, 2026-11-30). (Above actors.max-active, the cap's
// walk from the front may still pass every changed ad.)
//
// The entries must not move while linked (unordered_map nodes do not); a hook is not
// copyable, so an entry cannot be copied by mistake with its links.
#pragma once

#include <cstddef>

namespace adclick {

struct idle_hook {
  idle_hook() = default;
  idle_hook(const idle_hook&) = delete;
  idle_hook& operator=(const idle_hook&) = delete;
  bool linked() const { return linked_; }

 private:
  friend class idle_order;
  idle_hook* prev_ = nullptr;
  idle_hook* next_ = nullptr;
  bool linked_ = false;
};

class idle_order {
 public:
  idle_order() = default;
  idle_order(const idle_order&) = delete;
  idle_order& operator=(const idle_order&) = delete;

  /// Active just now: to the back (linked or not).
  void touch(idle_hook& h) {
    erase(h);
    h.prev_ = tail_;
    if (tail_) tail_->next_ = &h;
    else head_ = &h;
    tail_ = &h;
    h.linked_ = true;
    ++size_;
  }
  /// Idle already (an ad brought back only to finalize a minute): to the front, the first
  /// to stop. Only for an entry not linked yet.
  void push_front(idle_hook& h) {
    if (h.linked_) return;
    h.next_ = head_;
    if (head_) head_->prev_ = &h;
    else tail_ = &h;
    head_ = &h;
    h.linked_ = true;
    ++size_;
  }
  /// Unlinks `h` (nothing if it is not linked).
  void erase(idle_hook& h) {
    if (!h.linked_) return;
    (h.prev_ ? h.prev_->next_ : head_) = h.next_;
    (h.next_ ? h.next_->prev_ : tail_) = h.prev_;
    h.prev_ = h.next_ = nullptr;
    h.linked_ = false;
    --size_;
  }
  /// The longest idle, or null.
  idle_hook* front() const { return head_; }
  /// The one after `h` (more recently active), or null.
  static idle_hook* next(const idle_hook& h) { return h.next_; }
  std::size_t size() const { return size_; }

 private:
  idle_hook* head_ = nullptr;
  idle_hook* tail_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace adclick
