// Device memory owned by RAII: the only place that calls cudaMalloc / cudaFree.
#pragma once

#include <cuda_runtime.h>

#include <cassert>
#include <cstddef>
#include <type_traits>
#include <utility>

#include "host/cuda/cuda_check.cuh"

namespace caprisk {

/// Move-only, uninitialised device array of trivially copyable T. It remembers the device it
/// was allocated on and frees it there, whichever device is current when it goes.
template <class T>
class DeviceBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "device buffers hold trivially copyable types");

 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t count) : count_(count) {
    CAPRISK_CUDA_TRY(cudaGetDevice(&device_));
    if (count_ > 0) CAPRISK_CUDA_TRY(cudaMalloc(reinterpret_cast<void**>(&data_), bytes()));
  }
  /// Copies `count` elements from host memory.
  DeviceBuffer(const T* host, std::size_t count) : DeviceBuffer(count) {
    if (count_ > 0) CAPRISK_CUDA_TRY(cudaMemcpy(data_, host, bytes(), cudaMemcpyHostToDevice));
  }
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        count_(std::exchange(other.count_, 0)),
        device_(other.device_) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
      device_ = other.device_;
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { release(); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return count_ * sizeof(T); }
  int device() const noexcept { return device_; }

 private:
  void release() noexcept {
    if (data_ == nullptr) return;
    int current = 0;
    CAPRISK_ASSERT_CUDA_SUCCESS(cudaGetDevice(&current));
    if (current != device_) CAPRISK_ASSERT_CUDA_SUCCESS(cudaSetDevice(device_));
    CAPRISK_ASSERT_CUDA_SUCCESS(cudaFree(data_));
    if (current != device_) CAPRISK_ASSERT_CUDA_SUCCESS(cudaSetDevice(current));
    data_ = nullptr;
  }
  T* data_ = nullptr;
  std::size_t count_ = 0;
  int device_ = 0;
};

}  // namespace caprisk
