// What every example in a public header may assume besides the header it documents (see
// tests/docs/extra.cmake): the usual standard headers, the names below, and placeholders for the work
// the examples hand around. The examples are compiled, not linked: the placeholders are only declared.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

// tandem_all.hpp (generated) comes first: every public header.

namespace aio = tandem::aio;
using namespace std::chrono_literals;

// ---- placeholder work ----
bool is_prime(std::uint64_t n);
int heavy(int x);
aio::Task<int> fetch(int id);
aio::Task<std::string> fetch(const std::string& url);
aio::Task<int> work();
std::string download(std::string url);
int count_words(std::string path);

// ---- placeholder data ----
inline std::vector<std::uint64_t> numbers;
inline std::string url, path;
inline tandem::Future<int> fut;
