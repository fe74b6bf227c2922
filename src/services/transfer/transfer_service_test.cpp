// The offer half of file transfer between two real nodes over loopback: a folder offered
// arrives as a checked manifest; a declined offer ends on both sides; a hostile sender's
// manifests are refused as a whole with their reason, and nothing is written anywhere.
#include "services/transfer/transfer_service.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <openssl/sha.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>

#include "node/node.hpp"
#include "node/node_test_support.hpp"
#include "store/store.hpp"
#include "tls/identity.hpp"

namespace peerchat::transfer {
namespace {

namespace fs = std::filesystem;

using Kind = node::event::Transfer::Kind;

// The transfer events a node emitted, of one kind.
std::vector<node::event::Transfer> seen(const node::testing::RecordingSink& sink, Kind kind) {
  std::vector<node::event::Transfer> found;
  for (const auto& e : sink.all<node::event::Transfer>()) {
    if (e.kind == kind) found.push_back(e);
  }
  return found;
}

// A sender that puts on the wire whatever manifest the test gives it, hash and all.
class HostileSender final : public node::Service {
 public:
  std::string_view name() const override { return "hostile"; }
  std::uint32_t capabilities() const override { return kCapabilityFiles; }
  std::vector<std::uint8_t> frame_types() const override {
    return {0x90, 0x91, 0x92, 0x93, 0x94, 0x95};
  }
  std::vector<std::string> stream_prefixes() const override { return {"manifest ", "pieces "}; }
  void on_session_open(node::PeerEntry& /*peer*/, session::Connection& connection) override {
    session = connection.weak_from_this();
  }
  void on_frame(node::PeerEntry& /*peer*/, session::Connection& connection, std::uint8_t type,
                std::span<const std::uint8_t> payload) override {
    if (type == static_cast<std::uint8_t>(FrameType::cancel)) {
      if (auto cancel = decode_cancel(payload)) cancels.push_back(cancel->message);
    }
    if (type == static_cast<std::uint8_t>(FrameType::status)) {
      if (auto status = decode_status(payload)) statuses.push_back(status->message);
    }
    if (type == static_cast<std::uint8_t>(FrameType::done)) ++dones;
    if (type != static_cast<std::uint8_t>(FrameType::request)) return;
    // Answers every request for the one-piece file in `content`, the first `bad_left` times
    // with one byte flipped.
    auto request = decode_request(payload);
    ASSERT_TRUE(request.ok());
    for (const auto& range : request->ranges) {
      ++requests;
      auto stream = connection.open_stream(
          pieces_stream_label(request->id, range.entry, range.first), content.size());
      ASSERT_TRUE(stream.ok());
      auto bytes = content;
      if (bad_left > 0) {
        bytes[bytes.size() / 2] ^= 0x55;
        --bad_left;
      }
      ASSERT_EQ(connection.write_stream(*stream, bytes), bytes.size());
      connection.end_stream(*stream);
    }
  }
  void offer(std::uint8_t seed, const std::vector<std::uint8_t>& manifest, Offer offer) {
    auto connection = session.lock();
    ASSERT_TRUE(connection);
    offer.id.fill(seed);
    ASSERT_TRUE(connection->send_frame(0x90, encode(offer)).ok());
    auto stream = connection->open_stream(manifest_stream_label(offer.id), manifest.size());
    ASSERT_TRUE(stream.ok());
    pending = {*stream, manifest, 0};
    on_stream_writable(*connection);
  }
  void on_stream_writable(session::Connection& connection) {
    if (pending.stream == 0) return;
    pending.sent +=
        connection.write_stream(pending.stream, std::span(pending.bytes).subspan(pending.sent));
    if (pending.sent == pending.bytes.size()) {
      connection.end_stream(pending.stream);
      pending.stream = 0;
    }
  }
  void on_stream_writable(node::PeerEntry& /*peer*/, session::Connection& connection) override {
    on_stream_writable(connection);
  }
  struct Pending {
    std::uint32_t stream = 0;
    std::vector<std::uint8_t> bytes;
    std::size_t sent = 0;
  } pending;
  void offer_manifest(std::uint8_t seed, const Manifest& manifest) {
    const auto bytes = encode(manifest);
    offer(seed, bytes,
          Offer{{},
                manifest_hash(bytes),
                static_cast<std::uint32_t>(bytes.size()),
                static_cast<std::uint32_t>(manifest.file_count()),
                manifest.total_bytes()});
  }
  std::weak_ptr<session::Connection> session;
  std::vector<std::string> cancels;
  std::vector<std::string> statuses;
  std::vector<std::uint8_t> content;
  int bad_left = 0;
  int requests = 0;
  int dones = 0;
};

struct FilePeer {
  FilePeer(asio::io_context& io, const std::string& name, const fs::path& root, bool hostile)
      : dir(root / name) {
    fs::create_directories(dir);
    identity.emplace(std::move(tls::Identity::load_or_create(dir).value()));
    store = std::move(store::Store::open(dir / "peerchat.db").value());
    node::NodeConfig config;
    config.name = name;
    config.port = 0;
    config.files = !hostile;
    config.transfer.download_dir = dir / "downloads";
    config.transfer.disk_retry = std::chrono::milliseconds(50);
    node = std::make_unique<node::Node>(io, config, *identity, *store, clock, random, sink);
    if (hostile) {
      EXPECT_TRUE(node->add_service(evil).ok());
    }
    transfers = node->transfers();
    EXPECT_TRUE(node->restore().ok());
    EXPECT_TRUE(node->listen().ok());
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(node->port()); }

  fs::path dir;
  SystemClock clock;
  SystemRandom random;
  node::testing::RecordingSink sink;
  HostileSender evil;
  std::optional<tls::Identity> identity;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<node::Node> node;
  TransferService* transfers = nullptr;
};

class TransferServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/peerchat-transfer-service-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    peers_.clear();
    fs::remove_all(root_);
  }
  FilePeer& add(const std::string& name, bool hostile = false) {
    peers_.push_back(std::make_unique<FilePeer>(io_, name, root_, hostile));
    return *peers_.back();
  }
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_for(std::chrono::milliseconds(5));
      if (io_.stopped()) io_.restart();
    }
    return done();
  }
  void connect(FilePeer& a, FilePeer& b) {
    b.node->connect(a.address());
    ASSERT_TRUE(run_until([&] {
      return a.node->connected_peers().size() == 1 && b.node->connected_peers().size() == 1;
    }));
  }

  asio::io_context io_;
  fs::path root_;
  std::vector<std::unique_ptr<FilePeer>> peers_;
};

TEST_F(TransferServiceTest, AnOfferedFolderArrivesAsItsCheckedManifestAndADeclineEndsBothSides) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  connect(alice, bob);
  const fs::path trip = root_ / "trip";
  fs::create_directories(trip / "empty");
  std::ofstream(trip / "a.txt") << "hello";
  std::vector<Outcome<TransferId>> sent;
  alice.transfers->offer(bob.node->id(), {trip},
                         [&](Outcome<TransferId> id) { sent.push_back(id); });
  ASSERT_TRUE(run_until([&] { return !seen(bob.sink, Kind::offered).empty(); }));
  ASSERT_EQ(sent.size(), 1u);
  ASSERT_TRUE(sent[0].ok()) << sent[0].failure().message;
  const auto offer = seen(bob.sink, Kind::offered)[0];
  const TransferId id = offer.view.id;
  EXPECT_EQ(id, *sent[0]);
  EXPECT_EQ(offer.view.direction, Direction::in);
  ASSERT_EQ(offer.files.size(), 1u);  // files only; the empty folder comes along unlisted
  EXPECT_EQ(offer.files[0].path, "trip/a.txt");
  EXPECT_EQ(offer.view.total_bytes, 5u);
  EXPECT_EQ(offer.name, "alice");

  ASSERT_TRUE(bob.transfers->decline(id).ok());
  ASSERT_TRUE(run_until([&] { return !seen(alice.sink, Kind::declined).empty(); }));
  EXPECT_EQ(seen(alice.sink, Kind::declined)[0].view.direction, Direction::out);
  EXPECT_EQ(seen(bob.sink, Kind::declined).size(), 1u);
  EXPECT_FALSE(bob.transfers->decline(id).ok());  // answered once
}

TEST_F(TransferServiceTest, HostileManifestsAreRefusedWholeWithTheirReason) {
  auto& bob = add("bob");
  auto& mallory = add("mallory", /*hostile=*/true);
  connect(bob, mallory);
  const auto listing = [](std::vector<std::string> paths) {
    Manifest manifest;
    for (auto& path : paths) manifest.entries.push_back(Entry{EntryKind::file, path, 0, {}, {}});
    return manifest;
  };
  const std::vector<std::vector<std::string>> bad = {
      {"../x"}, {"/etc/x"}, {"a/../../x"}, {std::string("a\0b", 3)}, {"\x1b[31mred"}, {"A", "a"}};
  // One at a time: offers still arriving count against the per-peer limit.
  std::uint8_t seed = 1;
  for (const auto& paths : bad) {
    mallory.evil.offer_manifest(seed, listing(paths));
    ASSERT_TRUE(run_until([&] { return mallory.evil.cancels.size() == seed; })) << paths[0];
    ++seed;
  }
  // A symlink entry (no such kind exists: refused by the decoder), and 100,000 entries.
  Manifest link;
  link.entries.push_back(Entry{static_cast<EntryKind>(3), "evil-link", 0, {}, {}});
  mallory.evil.offer_manifest(seed, link);
  ASSERT_TRUE(run_until([&] { return mallory.evil.cancels.size() == seed; }));
  EXPECT_NE(mallory.evil.cancels.back().find("kind"), std::string::npos)
      << mallory.evil.cancels.back();
  ++seed;
  Manifest crowd;
  for (int i = 0; i < 100'000; ++i) {
    crowd.entries.push_back(Entry{EntryKind::folder, "d" + std::to_string(i), 0, {}, {}});
  }
  mallory.evil.offer_manifest(seed, crowd);
  ASSERT_TRUE(run_until([&] { return mallory.evil.cancels.size() == seed; }));
  EXPECT_NE(mallory.evil.cancels.back().find("100000 entries"), std::string::npos)
      << mallory.evil.cancels.back();
  ++seed;
  // A manifest that does not match the hash it was offered under.
  const auto good = encode(listing({"fine"}));
  Sha256 wrong{};
  mallory.evil.offer(seed, good, Offer{{}, wrong, static_cast<std::uint32_t>(good.size()), 1, 0});
  ASSERT_TRUE(run_until([&] { return mallory.evil.cancels.size() == bad.size() + 3; }));
  for (const auto& reason : mallory.evil.cancels)
    EXPECT_EQ(reason.rfind("refused: ", 0), 0u) << reason;
  EXPECT_NE(mallory.evil.cancels[0].find(".."), std::string::npos);
  EXPECT_NE(mallory.evil.cancels.back().find("hash"), std::string::npos);
  EXPECT_TRUE(seen(bob.sink, Kind::offered).empty());
  const auto refused = seen(bob.sink, Kind::failed);
  EXPECT_EQ(refused.size(), bad.size() + 3);
  for (const auto& e : refused) EXPECT_EQ(e.view.code, Code::transfer_refused);
  // Nothing was written, anywhere under the test's root but the peers' own data.
  for (const auto& entry : fs::recursive_directory_iterator(root_)) {
    const auto relative = fs::relative(entry.path(), root_).string();
    EXPECT_TRUE(relative.rfind("bob", 0) == 0 || relative.rfind("mallory", 0) == 0) << relative;
  }
  // The session goes on: a chat still arrives.
  mallory.node->send_message("bob", "still here");
  ASSERT_TRUE(run_until([&] { return !bob.sink.all<node::event::Message>().empty(); }));
}

TEST_F(TransferServiceTest, OffersBeyondTheLimitPerPeerAreRefused) {
  auto& bob = add("bob");
  auto& mallory = add("mallory", /*hostile=*/true);
  connect(bob, mallory);
  Manifest one;
  one.entries.push_back(Entry{EntryKind::file, "f", 0, {}, {}});
  for (std::uint8_t seed = 1; seed <= 6; ++seed) mallory.evil.offer_manifest(seed, one);
  ASSERT_TRUE(run_until([&] {
    return seen(bob.sink, Kind::offered).size() == 4 && mallory.evil.cancels.size() == 2;
  }));
  EXPECT_NE(mallory.evil.cancels[0].find("waiting"), std::string::npos);
}

// A file of `size` bytes whose content depends on `seed`, so a piece in the wrong place shows.
void write_pattern(const fs::path& path, std::size_t size, std::uint32_t seed) {
  std::vector<char> bytes(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& byte : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    byte = static_cast<char>(x);
  }
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size));
}

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

TEST_F(TransferServiceTest, AnAcceptedFolderArrivesByteIdenticalWithItsHashes) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  connect(alice, bob);
  const fs::path trip = root_ / "trip";
  fs::create_directories(trip / "empty");
  fs::create_directories(trip / "sub");
  write_pattern(trip / "zero", 0, 1);
  write_pattern(trip / "one", 1, 2);
  write_pattern(trip / "piece", kPieceSize, 3);
  write_pattern(trip / "sub" / "over", kPieceSize + 1, 4);
  write_pattern(trip / "sub" / "big", 5 * kPieceSize + 12345, 5);
  std::optional<Outcome<TransferId>> sent;
  alice.transfers->offer(bob.node->id(), {trip}, [&](Outcome<TransferId> id) { sent = id; });
  ASSERT_TRUE(run_until([&] { return !seen(bob.sink, Kind::offered).empty(); }));
  ASSERT_TRUE(sent && sent->ok());
  const TransferId id = **sent;
  EXPECT_EQ(seen(bob.sink, Kind::offered)[0].free_bytes > 0, true);

  const fs::path into = root_ / "bob-downloads";
  std::optional<Outcome<TransferView>> accepted;
  bob.transfers->accept(id, into, [&](Outcome<TransferView> view) { accepted = view; });
  ASSERT_TRUE(run_until([&] { return accepted.has_value(); }));
  ASSERT_TRUE(accepted->ok()) << accepted->failure().message;
  ASSERT_TRUE(run_until([&] {
    return !seen(bob.sink, Kind::done).empty() && !seen(alice.sink, Kind::done).empty();
  })) <<
      [&] {
        std::string all;
        for (auto* peer : {&alice, &bob}) {
          for (const auto& e : peer->sink.all<node::event::Transfer>()) {
            all += peer->node->display_name(peer->node->id()) + ":" +
                   std::string(node::event_name(node::Event{e})) + " " + e.view.message + " " +
                   std::to_string(e.view.bytes) + "\n";
          }
        }
        return all;
      }();
  EXPECT_FALSE(seen(alice.sink, Kind::accepted).empty());

  for (const char* name : {"zero", "one", "piece", "sub/over", "sub/big"}) {
    EXPECT_EQ(contents(into / "trip" / name), contents(trip / name)) << name;
    EXPECT_FALSE(fs::exists(into / "trip" / (std::string(name) + ".part"))) << name;
  }
  EXPECT_TRUE(fs::is_directory(into / "trip" / "empty"));
  const auto done = seen(bob.sink, Kind::done)[0];
  ASSERT_EQ(done.files.size(), 5u);
  for (const auto& file : done.files) {
    EXPECT_EQ(fs::path(file.path).parent_path().parent_path().filename() == "trip" ||
                  fs::path(file.path).parent_path().filename() == "trip",
              true)
        << file.path;
    EXPECT_EQ(fs::file_size(file.path), file.size);
  }
  EXPECT_EQ(done.view.bytes, done.view.total_bytes);
  EXPECT_EQ(done.view.bad_pieces, 0u);
  // Nothing was sent twice.
  EXPECT_EQ(done.view.wire_bytes, done.view.total_bytes);
  EXPECT_EQ(bob.transfers->list().back().state, State::done);
}

// Every transfer event of these peers, for a failure's message.
std::string trail(std::initializer_list<const FilePeer*> peers) {
  std::string all;
  for (const FilePeer* peer : peers) {
    for (const auto& e : peer->sink.all<node::event::Transfer>()) {
      all += peer->dir.filename().string() + ": " + std::string(node::event_name(node::Event{e})) +
             " " + std::string(state_name(e.view.state)) + " " + std::to_string(e.view.bytes) +
             " " + e.view.message + "\n";
    }
  }
  return all;
}

// A one-file manifest of `content` (one piece), as a hostile sender offers it.
Manifest one_piece(const std::string& path, const std::vector<std::uint8_t>& content) {
  Entry file{EntryKind::file, path, content.size(), {}, {}};
  Sha256 hash{};
  SHA256(content.data(), content.size(), hash.data());
  file.pieces.push_back(hash);
  file.sha256 = hash;
  Manifest manifest;
  manifest.entries.push_back(file);
  return manifest;
}

TEST_F(TransferServiceTest, ABadPieceIsFetchedAgainAndASenderOfBadPiecesFails) {
  auto& bob = add("bob");
  auto& mallory = add("mallory", /*hostile=*/true);
  connect(bob, mallory);
  mallory.evil.content.assign(100'000, 0);
  for (std::size_t i = 0; i < mallory.evil.content.size(); ++i) {
    mallory.evil.content[i] = static_cast<std::uint8_t>(i * 7);
  }
  const fs::path into = root_ / "bob-downloads";

  // Two bad copies, then a good one: saved, with the bad ones counted.
  mallory.evil.bad_left = 2;
  mallory.evil.offer_manifest(1, one_piece("fine.bin", mallory.evil.content));
  ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::offered).size() == 1; }));
  std::optional<Outcome<TransferView>> accepted;
  bob.transfers->accept(seen(bob.sink, Kind::offered)[0].view.id, into,
                        [&](Outcome<TransferView> view) { accepted = view; });
  ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::done).size() == 1; }));
  EXPECT_EQ(mallory.evil.requests, 3);
  ASSERT_TRUE(run_until([&] { return mallory.evil.dones == 1; }));
  EXPECT_EQ(seen(bob.sink, Kind::done)[0].view.bad_pieces, 2u);
  EXPECT_EQ(contents(into / "fine.bin"),
            std::string(mallory.evil.content.begin(), mallory.evil.content.end()));

  // Nothing but bad copies: asked again up to the limit, then failed with bad_pieces, the
  // sender told why, and no .part left.
  mallory.evil.bad_left = 1000;
  mallory.evil.requests = 0;
  mallory.evil.offer_manifest(2, one_piece("worse.bin", mallory.evil.content));
  ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::offered).size() == 2; }));
  bob.transfers->accept(seen(bob.sink, Kind::offered)[1].view.id, into,
                        [&](Outcome<TransferView> view) { accepted = view; });
  ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::failed).size() == 1; }));
  const auto failed = seen(bob.sink, Kind::failed)[0];
  EXPECT_EQ(failed.view.code, Code::bad_pieces);
  EXPECT_EQ(mallory.evil.requests, 9);  // the first and 8 more
  ASSERT_TRUE(run_until([&] { return !mallory.evil.statuses.empty(); }));
  EXPECT_EQ(mallory.evil.statuses[0].rfind("bad_pieces: ", 0), 0u) << mallory.evil.statuses[0];
  ASSERT_TRUE(run_until([&] { return !fs::exists(into / "worse.bin.part"); }));
  EXPECT_FALSE(fs::exists(into / "worse.bin"));
  // The session goes on.
  mallory.node->send_message("bob", "still here");
  ASSERT_TRUE(run_until([&] { return !bob.sink.all<node::event::Message>().empty(); }));
}

TEST_F(TransferServiceTest, EitherSideCancelsMidTransferAndThePartFilesGo) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  connect(alice, bob);
  const fs::path big = root_ / "big.bin";
  write_pattern(big, 64u << 20, 9);
  const fs::path into = root_ / "bob-downloads";
  for (const bool receiver_cancels : {true, false}) {
    SCOPED_TRACE(receiver_cancels ? "the receiver cancels" : "the sender cancels");
    const std::size_t before = seen(bob.sink, Kind::offered).size();
    alice.transfers->offer(bob.node->id(), {big}, [](Outcome<TransferId>) {});
    ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::offered).size() == before + 1; }));
    const TransferId id = seen(bob.sink, Kind::offered).back().view.id;
    bob.transfers->accept(id, into, [](Outcome<TransferView>) {});
    // Cancelled once the first pieces are on disk.
    const std::size_t progressed = seen(bob.sink, Kind::progress).size();
    ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::progress).size() > progressed; }));
    const fs::path part = into / (receiver_cancels ? "big.bin.part" : "big (1).bin.part");
    ASSERT_TRUE(fs::exists(part)) << part;
    auto& canceller = receiver_cancels ? bob : alice;
    auto& other = receiver_cancels ? alice : bob;
    ASSERT_TRUE(canceller.transfers->cancel(id).ok());
    ASSERT_TRUE(run_until([&] {
      const auto theirs = seen(other.sink, Kind::cancelled);
      return !theirs.empty() && theirs.back().view.id == id;
    }));
    EXPECT_TRUE(seen(other.sink, Kind::cancelled).back().by_peer);
    EXPECT_FALSE(seen(canceller.sink, Kind::cancelled).back().by_peer);
    ASSERT_TRUE(run_until([&] { return !fs::exists(part); }));
    EXPECT_FALSE(canceller.transfers->cancel(id).ok());  // over already
    EXPECT_TRUE(seen(bob.sink, Kind::done).empty());
    // A stale .big.bin from the first round makes the second one "big (1).bin".
    if (receiver_cancels) std::ofstream(into / "big.bin") << "someone else's";
  }
}

TEST_F(TransferServiceTest, ATransferResumesAfterTheSenderRestartsAndSendsLittleAgain) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  connect(alice, bob);
  const fs::path big = root_ / "big.bin";
  write_pattern(big, 48u << 20, 11);
  alice.transfers->offer(bob.node->id(), {big}, [](Outcome<TransferId>) {});
  ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::offered).size() == 1; }));
  const TransferId id = seen(bob.sink, Kind::offered)[0].view.id;
  const fs::path into = root_ / "bob-downloads";
  bob.transfers->accept(id, into, [](Outcome<TransferView>) {});
  ASSERT_TRUE(run_until([&] { return !seen(bob.sink, Kind::progress).empty(); }));
  // The sender goes away mid-transfer and comes back from its data dir. Its node is shut down
  // before it is destroyed: its sessions' coroutines live on this test's shared io_context and
  // must end first (TSan saw a writer resume into a freed connection). kill -9 of a real
  // process is the integration test's (tests/integration/transfer_test.cpp).
  const std::string alice_dir = alice.dir.filename();
  bool stopped = false;
  alice.node->shutdown(wire::ByeReason::shutdown, "restarting", [&] { stopped = true; });
  ASSERT_TRUE(run_until([&] { return stopped; }));
  io_.poll();
  peers_.erase(peers_.begin());
  ASSERT_TRUE(run_until([&] { return bob.node->connected_peers().empty(); }));
  const std::uint64_t held_then = bob.transfers->list().at(0).bytes;
  EXPECT_LT(held_then, 48u << 20);
  auto& again = add(alice_dir);
  connect(again, bob);
  ASSERT_TRUE(run_until([&] {
    return !seen(bob.sink, Kind::done).empty() && !seen(again.sink, Kind::done).empty();
  })) << trail({&bob, &again});
  EXPECT_EQ(contents(into / "big.bin"), contents(big));
  // Bob received the whole file once, plus at most the pieces cut short when the sender went
  // (one stream was open: at most 2 pieces, the bound).
  const auto done = seen(bob.sink, Kind::done)[0];
  EXPECT_LE(done.view.wire_bytes, (48u << 20) + 2 * kPieceSize);
}

TEST_F(TransferServiceTest, ManySmallFilesArriveInBatchesWithFewDescriptorsOpen) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  connect(alice, bob);
  const fs::path tree = root_ / "tree";
  const std::size_t files = std::getenv("PEERCHAT_SMALL_FILES") != nullptr
                                ? std::stoul(std::getenv("PEERCHAT_SMALL_FILES"))
                                : 600;
  for (std::size_t i = 0; i < files; ++i) {
    const fs::path folder = tree / ("d" + std::to_string(i / 100));
    fs::create_directories(folder);
    write_pattern(folder / ("f" + std::to_string(i)), 4096, static_cast<std::uint32_t>(i));
  }
  alice.transfers->offer(bob.node->id(), {tree}, [](Outcome<TransferId>) {});
  ASSERT_TRUE(run_until([&] { return !seen(bob.sink, Kind::offered).empty(); }));
  const auto start = std::chrono::steady_clock::now();
  bob.transfers->accept(seen(bob.sink, Kind::offered)[0].view.id, root_ / "in",
                        [](Outcome<TransferView>) {});
  ASSERT_TRUE(run_until([&] { return !seen(bob.sink, Kind::done).empty(); })) << trail({&bob});
  std::printf("%zu files of 4 KiB: %.3f s from accept to done\n", files,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  const auto done = seen(bob.sink, Kind::done)[0];
  ASSERT_EQ(done.files.size(), files);
  for (std::size_t i = 0; i < files; i += 97) {
    const fs::path relative = fs::path("d" + std::to_string(i / 100)) / ("f" + std::to_string(i));
    EXPECT_EQ(contents(root_ / "in" / "tree" / relative), contents(tree / relative));
  }
  EXPECT_EQ(done.view.wire_bytes, files * 4096);
}

TEST_F(TransferServiceTest, AFileThatChangesOrGoesAfterTheOfferFailsWithItsCode) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  connect(alice, bob);
  const fs::path into = root_ / "in";
  struct Case {
    const char* name;
    Code code;
  };
  for (const Case& c :
       {Case{"changed.bin", Code::file_changed}, Case{"gone.bin", Code::file_unreadable}}) {
    SCOPED_TRACE(c.name);
    const fs::path file = root_ / c.name;
    write_pattern(file, 3 * kPieceSize, 41);
    const std::size_t before = seen(bob.sink, Kind::offered).size();
    alice.transfers->offer(bob.node->id(), {file}, [](Outcome<TransferId>) {});
    ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::offered).size() == before + 1; }));
    if (c.code == Code::file_changed) {
      write_pattern(file, 3 * kPieceSize, 42);  // same size, other bytes
    } else {
      fs::remove(file);
    }
    const std::size_t failed = seen(bob.sink, Kind::failed).size();
    bob.transfers->accept(seen(bob.sink, Kind::offered).back().view.id, into,
                          [](Outcome<TransferView>) {});
    ASSERT_TRUE(run_until([&] {
      return seen(bob.sink, Kind::failed).size() == failed + 1 &&
             seen(alice.sink, Kind::failed).size() == failed + 1;
    })) << trail({&alice, &bob});
    EXPECT_EQ(seen(bob.sink, Kind::failed).back().view.code, c.code);
    EXPECT_EQ(seen(alice.sink, Kind::failed).back().view.code, c.code);
    EXPECT_FALSE(fs::exists(into / c.name));
    ASSERT_TRUE(run_until([&] { return !fs::exists(into / (std::string(c.name) + ".part")); }));
  }
}

// A small tmpfs the test mounts (and unmounts) for a download folder that fills up.
class SmallDisk {
 public:
  SmallDisk(const fs::path& at, std::size_t bytes) : at_(at) {
    fs::create_directories(at);
    const std::string options = "size=" + std::to_string(bytes);
    mounted_ = ::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) == 0;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(at_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }

 private:
  fs::path at_;
  bool mounted_ = false;
};

TEST_F(TransferServiceTest, ADiskThatFillsUpPausesBothSidesAndResumesWhenThereIsRoom) {
  const fs::path small = root_ / "small";
  SmallDisk disk(small, 12u << 20);
  if (!disk.mounted()) GTEST_SKIP() << "mounting a tmpfs needs root (CAP_SYS_ADMIN)";
  auto& alice = add("alice");
  auto& bob = add("bob");
  connect(alice, bob);
  const fs::path big = root_ / "big.bin";
  write_pattern(big, 8u << 20, 21);
  const fs::path huge = root_ / "huge.bin";
  write_pattern(huge, 16u << 20, 22);

  // More than the disk holds: the accept fails with disk_full, nothing is created, and the
  // offer still waits (another folder may do).
  alice.transfers->offer(bob.node->id(), {huge}, [](Outcome<TransferId>) {});
  ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::offered).size() == 1; }));
  const TransferId too_big = seen(bob.sink, Kind::offered)[0].view.id;
  std::optional<Outcome<TransferView>> refused;
  bob.transfers->accept(too_big, small / "in", [&](Outcome<TransferView> view) { refused = view; });
  ASSERT_TRUE(run_until([&] { return refused.has_value(); }));
  ASSERT_FALSE(refused->ok());
  EXPECT_EQ(refused->failure().code, Code::disk_full);
  EXPECT_NE(refused->failure().message.find("free"), std::string::npos);
  EXPECT_FALSE(fs::exists(small / "in" / "huge.bin.part"));
  ASSERT_TRUE(bob.transfers->decline(too_big).ok());

  // Fits when accepted; then something else takes the room.
  alice.transfers->offer(bob.node->id(), {big}, [](Outcome<TransferId>) {});
  ASSERT_TRUE(run_until([&] { return seen(bob.sink, Kind::offered).size() == 2; }));
  const TransferId id = seen(bob.sink, Kind::offered)[1].view.id;
  const fs::path filler = small / "filler";
  bob.transfers->accept(id, small / "in", [&](Outcome<TransferView> view) {
    ASSERT_TRUE(view.ok()) << view.failure().message;
    write_pattern(filler, 7u << 20, 23);  // before the first piece comes
  });
  ASSERT_TRUE(run_until([&] {
    return !seen(bob.sink, Kind::paused).empty() && !seen(alice.sink, Kind::paused).empty();
  })) << trail({&alice, &bob});
  EXPECT_EQ(seen(bob.sink, Kind::paused)[0].view.code, Code::disk_full);
  EXPECT_EQ(seen(alice.sink, Kind::paused)[0].view.code, Code::disk_full);
  EXPECT_EQ(bob.transfers->list().back().state, State::paused);
  fs::remove(filler);
  ASSERT_TRUE(run_until([&] {
    return !seen(bob.sink, Kind::done).empty() && !seen(alice.sink, Kind::done).empty();
  })) << trail({&alice, &bob});
  EXPECT_FALSE(seen(bob.sink, Kind::resumed).empty());
  EXPECT_FALSE(seen(alice.sink, Kind::resumed).empty());
  EXPECT_EQ(contents(small / "in" / "big.bin"), contents(big));
}

TEST_F(TransferServiceTest, TransfersBothWaysAndFromTwoPeersRunTogetherWhileChatGoesOn) {
  auto& alice = add("alice");
  auto& bob = add("bob");
  auto& carol = add("carol");
  connect(alice, bob);
  bob.node->connect(carol.address());
  ASSERT_TRUE(run_until([&] { return bob.node->connected_peers().size() == 2; }));
  const fs::path a = root_ / "from-alice.bin";
  const fs::path c = root_ / "from-carol.bin";
  const fs::path b = root_ / "from-bob.bin";
  write_pattern(a, 20u << 20, 31);
  write_pattern(c, 20u << 20, 32);
  write_pattern(b, 20u << 20, 33);
  alice.transfers->offer(bob.node->id(), {a}, [](Outcome<TransferId>) {});
  carol.transfers->offer(bob.node->id(), {c}, [](Outcome<TransferId>) {});
  bob.transfers->offer(alice.node->id(), {b}, [](Outcome<TransferId>) {});
  ASSERT_TRUE(run_until([&] {
    return seen(bob.sink, Kind::offered).size() == 3 && seen(alice.sink, Kind::offered).size() == 2;
  }));
  for (const auto& offer : seen(bob.sink, Kind::offered)) {
    if (offer.view.direction == Direction::in) {
      bob.transfers->accept(offer.view.id, root_ / "bob-in", [](Outcome<TransferView>) {});
    }
  }
  for (const auto& offer : seen(alice.sink, Kind::offered)) {
    if (offer.view.direction == Direction::in) {
      alice.transfers->accept(offer.view.id, root_ / "alice-in", [](Outcome<TransferView>) {});
    }
  }
  // Chat while the files move: every message arrives, and before the transfers end.
  ASSERT_TRUE(run_until([&] { return !seen(bob.sink, Kind::progress).empty(); }));
  for (int i = 0; i < 20; ++i) {
    alice.node->send_message("bob", "a" + std::to_string(i));
    carol.node->send_message("bob", "c" + std::to_string(i));
  }
  ASSERT_TRUE(run_until([&] { return bob.sink.count_messages() == 40; }));
  ASSERT_TRUE(run_until([&] {
    return seen(bob.sink, Kind::done).size() == 3 && seen(alice.sink, Kind::done).size() == 2 &&
           seen(carol.sink, Kind::done).size() == 1;
  })) << trail({&alice, &bob, &carol});
  EXPECT_EQ(contents(root_ / "bob-in" / "from-alice.bin"), contents(a));
  EXPECT_EQ(contents(root_ / "bob-in" / "from-carol.bin"), contents(c));
  EXPECT_EQ(contents(root_ / "alice-in" / "from-bob.bin"), contents(b));
}

}  // namespace
}  // namespace peerchat::transfer
