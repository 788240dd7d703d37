// SPDX-License-Identifier: Apache-2.0
// Demuxer results as Python values: dicts for headers and tags, one read-only numpy
// structured array per fragment for its frame table (no copy: the array owns the vector).
#include <atomic>
#include <string>
#include <unordered_map>

#include "bindings.h"


namespace kvsmux::bindings {
namespace {

py::tuple range_tuple(ByteRange r) { return py::make_tuple(r.offset, r.size); }
py::bytes to_bytes(const std::vector<std::byte>& v) { return py::bytes(reinterpret_cast<const char*>(v.data()), v.size()); }

py::dict codec_summary(const mkv::CodecSummary& c) {
  py::dict d;
  d["codec_string"] = text(c.codec_string);
  d["profile"] = c.profile;
  d["level"] = c.level;
  d["width"] = c.width;
  d["height"] = c.height;
  d["sample_rate"] = c.sample_rate;
  d["channels"] = c.channels;
  d["nal_length_size"] = c.nal_length_size;
  return d;
}

py::dict track_dict(const mkv::Track& t) {
  py::dict d;
  d["number"] = t.number;
  d["uid"] = t.uid;
  d["type"] = t.type;
  d["codec_id"] = text(t.codec_id);
  d["codec_private"] = to_bytes(t.codec_private_bytes);
  d["codec_private_range"] = range_tuple(t.codec_private);
  d["default_duration_ns"] = t.default_duration_ns;
  d["codec_delay_ns"] = t.codec_delay_ns;
  d["seek_pre_roll_ns"] = t.seek_pre_roll_ns;
  d["name"] = text(t.name);
  d["language"] = text(t.language);
  d["pixel_width"] = t.pixel_width;
  d["pixel_height"] = t.pixel_height;
  d["sampling_frequency"] = t.sampling_frequency;
  d["channels"] = t.channels;
  d["bit_depth"] = t.bit_depth;
  d["codec"] = t.codec.parsed ? py::object(codec_summary(t.codec)) : py::object(py::none());
  d["codec_error"] = t.codec_error ? to_python_error(*t.codec_error) : py::object(py::none());
  return d;
}

py::array frames_array(std::vector<mkv::Frame> frames) {
  auto* owned = new std::vector<mkv::Frame>(std::move(frames));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<mkv::Frame>*>(p); });
  py::array a(frame_dtype(), {static_cast<py::ssize_t>(owned->size())}, {static_cast<py::ssize_t>(sizeof(mkv::Frame))},
              owned->data(), owner);
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

// One thread at a time in a Demuxer: the GIL is released while it parses.
class BusyGuard {
 public:
  explicit BusyGuard(std::atomic<bool>& busy) : busy_(busy) {
    if (busy_.exchange(true)) throw std::runtime_error("Demuxer is in use by another thread");
  }
  ~BusyGuard() { busy_ = false; }

 private:
  std::atomic<bool>& busy_;
};

py::list events_to_python(std::vector<mkv::OwnedEvent> events, const py::object& whole_input) {
  py::list out;
  std::unordered_map<const mkv::Block*, py::object> blocks;
  for (mkv::OwnedEvent& e : events) {
    py::object data = whole_input;
    if (e.block) {
      auto it = blocks.find(e.block.get());
      if (it == blocks.end()) it = blocks.emplace(e.block.get(), block_object(e.block)).first;
      data = it->second;
    }
    if (auto* h = std::get_if<mkv::Header>(&e.event)) out.append(py::make_tuple("header", to_python(std::move(*h)), data));
    else if (auto* f = std::get_if<mkv::Fragment>(&e.event)) out.append(py::make_tuple("fragment", to_python(std::move(*f)), data));
    else out.append(py::make_tuple("tags", to_python(std::move(std::get<mkv::TagsEvent>(e.event))), py::none()));
  }
  return out;
}

class PyDemuxer {
 public:
  explicit PyDemuxer(const py::object& limits) : stream_(limits_from(limits)) {}

  py::list feed(const py::buffer& chunk) {
    BusyGuard guard(busy_);
    PinnedInput in = pin_input(chunk);
    std::vector<mkv::OwnedEvent> events;
    if (in.immutable()) {
      py::gil_scoped_release release;
      events = stream_.feed(in.span());
    } else {  // a mutable buffer could change under us: parse it with the GIL held
      events = stream_.feed(in.span());
    }
    return events_to_python(std::move(events), py::none());
  }

  py::list close() {
    BusyGuard guard(busy_);
    std::vector<mkv::OwnedEvent> events;
    {
      py::gil_scoped_release release;
      events = stream_.close();
    }
    return events_to_python(std::move(events), py::none());
  }

  py::object error() const { return stream_.error() ? to_python_error(*stream_.error()) : py::object(py::none()); }
  std::uint64_t bytes_received() const { return stream_.bytes_received(); }
  std::size_t buffered() const { return stream_.buffered(); }
  bool finished() const { return stream_.finished(); }

 private:
  mkv::StreamDemuxer stream_;
  std::atomic<bool> busy_{false};
};

py::tuple demux_whole(const py::buffer& input, const py::object& limits) {
  PinnedInput in = pin_input(input);
  mkv::Demuxer demuxer(limits_from(limits));
  if (in.immutable()) {
    py::gil_scoped_release release;
    demuxer.parse(in.span(), 0, true);
  } else {
    demuxer.parse(in.span(), 0, true);
  }
  std::vector<mkv::OwnedEvent> owned;
  for (mkv::Event& e : demuxer.take_events()) owned.push_back(mkv::OwnedEvent{std::move(e), nullptr});
  py::object error = demuxer.error() ? to_python_error(*demuxer.error()) : py::object(py::none());
  return py::make_tuple(events_to_python(std::move(owned), input), error);
}

}  // namespace

py::dtype frame_dtype() { return py::dtype::of<mkv::Frame>(); }

py::object to_python(mkv::Header h) {
  py::dict d;
  d["index"] = h.index;
  d["byte_range"] = range_tuple(h.range);
  d["segment_offset"] = h.segment.offset;
  d["segment_size"] = h.segment.size == ebml::kUnknownSize ? py::object(py::none()) : py::int_(h.segment.size);
  d["segment_data_offset"] = h.segment_data_offset;
  d["doc_type"] = text(h.doc_type);
  d["doc_type_version"] = h.doc_type_version;
  d["doc_type_read_version"] = h.doc_type_read_version;
  d["timestamp_scale_ns"] = h.timestamp_scale_ns;
  d["duration"] = h.duration < 0 ? py::object(py::none()) : py::float_(h.duration);
  d["muxing_app"] = text(h.muxing_app);
  d["writing_app"] = text(h.writing_app);
  d["title"] = text(h.title);
  py::list tracks;
  for (const mkv::Track& t : h.tracks) tracks.append(track_dict(t));
  d["tracks"] = tracks;
  return d;
}

py::object to_python(const mkv::TagsElement& tags) {
  py::list simple;
  for (const mkv::SimpleTag& s : tags.simple_tags)
    simple.append(py::make_tuple(text(s.name), s.string ? py::object(text(*s.string)) : py::object(py::none()),
                                 s.binary ? py::object(to_bytes(*s.binary)) : py::object(py::none())));
  py::dict d;
  d["byte_range"] = range_tuple(tags.range);
  d["simple_tags"] = simple;
  return d;
}

py::object to_python(mkv::TagsEvent e) { return py::make_tuple(e.fragment_index, to_python(e.tags)); }

py::object to_python(mkv::Fragment f) {
  py::dict d;
  d["index"] = f.index;
  d["header_index"] = f.header_index;
  d["timestamp_ticks"] = f.timestamp_ticks;
  d["timestamp_ns"] = f.timestamp_ns;
  d["byte_range"] = range_tuple(f.range);
  d["unknown_size"] = f.unknown_size;
  d["truncated"] = f.truncated;
  py::list before;
  for (const mkv::TagsElement& t : f.tags_before) before.append(to_python(t));
  d["tags_before"] = before;
  d["frames"] = frames_array(std::move(f.frames));
  return d;
}

namespace {

// Each named limit once: its Python key and where it lives in mkv::Limits.
struct LimitField {
  const char* name;
  std::uint64_t (*get)(const mkv::Limits&);
  void (*set)(mkv::Limits&, const py::handle&);
};
#define KVSMUX_LIMIT(member)                                                               \
  LimitField {                                                                             \
    #member, [](const mkv::Limits& l) { return static_cast<std::uint64_t>(l.member); },   \
        [](mkv::Limits& l, const py::handle& v) { l.member = v.cast<decltype(l.member)>(); } \
  }
const LimitField kLimitFields[] = {
    KVSMUX_LIMIT(max_element_size), KVSMUX_LIMIT(max_cluster_size), KVSMUX_LIMIT(max_frames_per_cluster),
    KVSMUX_LIMIT(max_tracks),       KVSMUX_LIMIT(max_depth),        KVSMUX_LIMIT(max_lace_count),
    KVSMUX_LIMIT(max_work_per_byte), KVSMUX_LIMIT(work_base),
};
#undef KVSMUX_LIMIT

}  // namespace

mkv::Limits limits_from(const py::object& limits) {
  mkv::Limits l;
  if (limits.is_none()) return l;
  for (auto [key, value] : limits.cast<py::dict>()) {
    const std::string k = key.cast<std::string>();
    const LimitField* field = nullptr;
    for (const LimitField& f : kLimitFields)
      if (k == f.name) field = &f;
    if (!field) throw py::key_error("unknown demuxer limit: " + k);
    field->set(l, value);
  }
  return l;
}

void register_demuxer(py::module_& m) {
  PYBIND11_NUMPY_DTYPE(mkv::Frame, offset, pts_ns, duration_ns, size, track, key, invisible, discardable, lace);
  m.attr("FRAME_DTYPE") = frame_dtype();
  const mkv::Limits defaults;
  py::dict limits;
  for (const LimitField& f : kLimitFields) limits[f.name] = f.get(defaults);
  m.attr("DEFAULT_LIMITS") = limits;

  py::class_<PyDemuxer>(m, "Demuxer", "Incremental Matroska demuxer over chunks it copies once.")
      .def(py::init<const py::object&>(), py::arg("limits") = py::none())
      .def("feed", &PyDemuxer::feed, py::arg("chunk"))
      .def("close", &PyDemuxer::close)
      .def_property_readonly("error", &PyDemuxer::error)
      .def_property_readonly("bytes_received", &PyDemuxer::bytes_received)
      .def_property_readonly("buffered", &PyDemuxer::buffered)
      .def_property_readonly("finished", &PyDemuxer::finished);
  m.def("demux", &demux_whole, py::arg("data"), py::arg("limits") = py::none(),
        "Demuxes a whole buffer without copying it: (events, error or None).");
}

}  // namespace kvsmux::bindings
