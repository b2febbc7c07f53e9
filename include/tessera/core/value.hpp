#pragma once
/// @file
/// `Value`: the type-erased, immutable, shared result of one task.
///
/// Schedulers move task results around without knowing what they are (an array chunk, a
/// reduction partial, a user's delayed result). A Value is a shared pointer to a const
/// object plus its type; copying it is cheap and never copies the object.

#include <cstddef>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>

#include "tessera/core/error.hpp"

namespace tessera {

namespace detail {
/// dtype_error naming the type a Value holds and the one asked for.
[[noreturn]] void throw_value_type(const std::type_info* held, const std::type_info& wanted);
}  // namespace detail

/// The bytes a value of type T holds, as the memory budget counts them: sizeof(T) unless
/// specialised (a Block counts its buffer, a reduction's Partial its fields).
template <class T>
struct ValueBytes {
  static std::size_t of(const T&) noexcept { return sizeof(T); }
};

class Value {
 public:
  Value() = default;

  /// Wraps `object` (moved into shared storage).
  template <class T>
  static Value make(T object) {
    Value v;
    v.m_ptr = std::make_shared<const std::decay_t<T>>(std::move(object));
    v.m_type = &typeid(std::decay_t<T>);
    v.m_bytes =
        ValueBytes<std::decay_t<T>>::of(*static_cast<const std::decay_t<T>*>(v.m_ptr.get()));
    return v;
  }

  bool empty() const noexcept { return m_ptr == nullptr; }
  explicit operator bool() const noexcept { return !empty(); }

  template <class T>
  bool holds() const noexcept {
    return m_type != nullptr && *m_type == typeid(T);
  }

  /// The held object; throws dtype_error when it is not a `T`.
  template <class T>
  const T& get() const {
    if (!holds<T>()) detail::throw_value_type(m_type, typeid(T));
    return *static_cast<const T*>(m_ptr.get());
  }

  const std::type_info* type() const noexcept { return m_type; }
  /// The bytes the held object occupies (ValueBytes), 0 when empty.
  std::size_t nbytes() const noexcept { return m_bytes; }

 private:
  std::shared_ptr<const void> m_ptr;
  const std::type_info* m_type = nullptr;
  std::size_t m_bytes = 0;
};

}  // namespace tessera
