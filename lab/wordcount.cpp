// lab/wordcount.cpp — the map and reduce functions, the splits, the generated corpus.
#include "lab/wordcount.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string_view>
#include <unordered_map>

namespace tandem::lab {

namespace {

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// 6.824's ihash: FNV-1a, 32 bits, sign bit cleared.
std::uint32_t partition_of(std::string_view word, std::uint32_t reduce_tasks) {
  std::uint32_t h = 2166136261u;
  for (char c : word) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return (h & 0x7fffffffu) % reduce_tasks;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// The generated corpus's vocabulary: 4096 pseudo-words of 1 to 10 letters, word k from seed k.
const std::vector<std::string>& vocabulary() {
  static const std::vector<std::string> words = [] {
    std::vector<std::string> v;
    for (std::uint64_t k = 0; k < 4096; ++k) {
      std::uint64_t h = mix(k + 1);
      std::string w;
      const std::size_t len = 1 + h % 10;
      for (std::size_t i = 0; i < len; ++i) {
        h = mix(h);
        const char base = (h >> 40) % 5 == 0 ? 'A' : 'a';
        w.push_back(static_cast<char>(base + h % 26));
      }
      v.push_back(std::move(w));
    }
    return v;
  }();
  return words;
}

// Block k of the generated corpus: about kGeneratedBlockBytes of words, skewed towards the vocabulary's
// first words (a rough Zipf law, as in real text), separated by spaces, punctuation and newlines.
std::string generated_block(std::uint64_t k) {
  const auto& vocab = vocabulary();
  std::string text;
  text.reserve(kGeneratedBlockBytes + 16);
  std::uint64_t h = mix(k ^ 0x5eed);
  while (text.size() < kGeneratedBlockBytes) {
    h = mix(h);
    const std::uint64_t a = h % vocab.size(), b = (h >> 20) % vocab.size();
    text += vocab[a * b / vocab.size()];
    const unsigned sep = (h >> 50) % 16;
    text += sep == 0 ? "\n" : sep == 1 ? ", " : sep == 2 ? ". " : " ";
  }
  text += '\n';
  return text;
}

void count_words(std::string_view text, std::unordered_map<std::string, std::uint64_t>& counts) {
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !is_letter(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && is_letter(text[i])) ++i;
    if (i > start) ++counts[std::string(text.substr(start, i - start))];
  }
}

// The words that start in [begin, end) of the file, whole: a word cut at `end` is read to its end; a
// word running into `begin` from before belongs to the previous split.
std::string read_split(const Split& s) {
  std::ifstream in(s.path, std::ios::binary);
  if (!in) throw std::runtime_error("wordcount: cannot open " + s.path + ": " + std::strerror(errno));
  const std::uint64_t from = s.begin > 0 ? s.begin - 1 : 0;
  std::string text(s.end - from, '\0');
  in.seekg(static_cast<std::streamoff>(from));
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  char c;
  while (!text.empty() && is_letter(text.back()) && in.get(c)) {
    text.push_back(c);
    if (!is_letter(c)) break;
  }
  std::size_t skip = 0;  // after the extension: a word may run through this whole split
  if (s.begin > 0) {
    if (!text.empty() && is_letter(text[0]))
      while (skip < text.size() && is_letter(text[skip])) ++skip;
    else
      skip = 1;
  }
  return text.substr(std::min(skip, text.size()));
}

}  // namespace

std::vector<Split> split_files(const std::vector<std::string>& paths, std::size_t map_tasks) {
  if (map_tasks == 0) throw std::invalid_argument("wordcount: map tasks must be >= 1");
  std::vector<std::uint64_t> sizes;
  std::uint64_t total = 0;
  for (auto& p : paths) {
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) throw std::invalid_argument("cannot read " + p + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw std::invalid_argument("cannot read " + p + ": not a regular file");
    if (::access(p.c_str(), R_OK) != 0) throw std::invalid_argument("cannot read " + p + ": " + std::strerror(errno));
    sizes.push_back(static_cast<std::uint64_t>(st.st_size));
    total += sizes.back();
  }
  // Splits never cross files: each file gets its share of the M tasks (at least one if it has bytes).
  const std::uint64_t piece = std::max<std::uint64_t>(1, (total + map_tasks - 1) / map_tasks);
  std::vector<Split> splits;
  for (std::size_t i = 0; i < paths.size(); ++i)
    for (std::uint64_t at = 0; at < sizes[i]; at += piece) splits.push_back({paths[i], at, std::min(sizes[i], at + piece)});
  return splits;
}

std::vector<Split> split_generated(std::uint64_t bytes, std::size_t map_tasks) {
  if (map_tasks == 0) throw std::invalid_argument("wordcount: map tasks must be >= 1");
  const std::uint64_t blocks = std::max<std::uint64_t>(1, (bytes + kGeneratedBlockBytes - 1) / kGeneratedBlockBytes);
  const std::uint64_t m = std::min<std::uint64_t>(map_tasks, blocks);
  std::vector<Split> splits;
  for (std::uint64_t i = 0; i < m; ++i) splits.push_back({"", blocks * i / m, blocks * (i + 1) / m});
  return splits;
}

std::vector<WordCounts> map_split(Split split, std::uint32_t reduce_tasks, std::string crash_marker) {
  if (reduce_tasks == 0) throw std::invalid_argument("wordcount: reduce_tasks must be >= 1");
  if (!crash_marker.empty()) {  // the test hook: the first attempt anywhere dies
    int fd = ::open(crash_marker.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd >= 0) {
      ::close(fd);
      ::raise(SIGKILL);
    }
  }
  std::unordered_map<std::string, std::uint64_t> counts;
  if (split.path.empty()) {
    for (std::uint64_t k = split.begin; k < split.end; ++k) count_words(generated_block(k), counts);
  } else {
    count_words(read_split(split), counts);
  }
  std::vector<WordCounts> parts(reduce_tasks);
  for (auto& [word, n] : counts) parts[partition_of(word, reduce_tasks)].emplace_back(word, n);
  for (auto& p : parts) std::sort(p.begin(), p.end());
  return parts;
}

WordCounts reduce_partition(std::vector<WordCounts> parts) {
  WordCounts all;
  for (auto& p : parts) all.insert(all.end(), std::make_move_iterator(p.begin()), std::make_move_iterator(p.end()));
  std::sort(all.begin(), all.end());
  WordCounts out;
  for (auto& [word, n] : all) {
    if (!out.empty() && out.back().first == word)
      out.back().second += n;
    else
      out.emplace_back(std::move(word), n);
  }
  return out;
}

WordCounts wordcount_sequential(const WordcountJob& job) {
  if (job.reduce_tasks == 0) throw std::invalid_argument("wordcount: reduce_tasks must be >= 1");
  std::vector<std::vector<WordCounts>> groups(job.reduce_tasks);
  for (auto& split : job.inputs) {
    auto parts = map_split(split, job.reduce_tasks, "");
    for (std::uint32_t r = 0; r < job.reduce_tasks; ++r) groups[r].push_back(std::move(parts[r]));
  }
  std::vector<WordCounts> reduced;
  for (auto& g : groups) reduced.push_back(reduce_partition(std::move(g)));
  return detail::merge_reduced(std::move(reduced));
}

std::string format_counts(const WordCounts& counts) {
  std::string out;
  for (auto& [word, n] : counts) {
    out += word;
    out += ' ';
    out += std::to_string(n);
    out += '\n';
  }
  return out;
}

namespace detail {

WordCounts merge_reduced(std::vector<WordCounts> reduced) {
  WordCounts out;
  for (auto& r : reduced) out.insert(out.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
  std::sort(out.begin(), out.end());
  return out;
}

bool worker_died(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const WorkerCrashed&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace detail

}  // namespace tandem::lab
