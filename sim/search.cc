/*
 * search.cc - the smallest plan that passes (search.h).
 */
#include "search.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "scenario.h"

extern "C" {
#include <cjson/cJSON.h>
}

namespace sim
{

namespace
{

enum { MAX_STEPS = 12 }; /* runs adding a node before giving up */
/* of which for a region whose own rows fail with CPU to spare: a node
 * more there shortens its nodes' queues, but an access network too far
 * for the SLA no node fixes */
enum { REGION_STEPS = 2 };
const double HEADROOM = 1.3;

std::string temp_file(const char *what, const std::string &text)
{
	const char *dir = getenv("TMPDIR");
	std::string path = std::string(dir && *dir ? dir : "/tmp") +
			   "/meeshy-sim-" + what + "-XXXXXX";
	int fd = mkstemp(&path[0]);
	if (fd < 0)
		return std::string();
	bool ok = write(fd, text.data(), text.size()) == (ssize_t)text.size();
	close(fd);
	return ok ? path : std::string();
}

/* The signal that stops the search (SIGINT, SIGTERM, SIGHUP), or 0: the
 * handler only records it; run_all, woken from wait(), stops the runs and
 * removes their files, which a search killed mid-run used to leave. */
volatile sig_atomic_t stop_signal = 0;

void on_stop(int sig)
{
	stop_signal = sig;
}

void catch_stop_signals()
{
	struct sigaction sa = {};
	sa.sa_handler = on_stop; /* no SA_RESTART: wait() returns EINTR */
	sigemptyset(&sa.sa_mask);
	for (int sig : {SIGINT, SIGTERM, SIGHUP})
		sigaction(sig, &sa, nullptr);
}

/* A run of meeshy-sim on a plan and the load, in a child process. */
struct Child {
	pid_t pid = -1;
	std::string plan, out;
};

Child start(const std::string &self, const std::string &plan_text,
	    const std::string &load)
{
	Child c;
	pid_t search = getpid();
	c.plan = temp_file("plan", plan_text);
	c.out = temp_file("report", "");
	c.pid = c.plan.empty() || c.out.empty() ? -1 : fork();
	if (c.pid == 0) {
		/* a search killed outright (SIGKILL) takes its runs along */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != search)
			_exit(1);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(self.c_str(), self.c_str(), c.plan.c_str(), load.c_str(),
		      "--out", c.out.c_str(), (char *)nullptr);
		_exit(127);
	}
	return c;
}

/* its report once it has exited, or nullptr (why says so) */
cJSON *reap(Child &c, int status, std::string &why)
{
	cJSON *rep = nullptr;
	if (c.pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		std::ifstream f(c.out);
		std::stringstream ss;
		ss << f.rdbuf();
		rep = cJSON_Parse(ss.str().c_str());
	}
	if (!rep)
		why = "a run of meeshy-sim on " + c.plan + " failed (status " +
		      std::to_string(status) + ")";
	unlink(c.plan.c_str());
	unlink(c.out.c_str());
	return rep;
}

/* The search was told to stop: its runs stopped and their files removed,
 * then it ends by the same signal. */
[[noreturn]] void stop_runs(std::vector<Child> &kids)
{
	for (Child &c : kids) {
		if (c.pid <= 0)
			continue;
		kill(c.pid, SIGTERM);
		waitpid(c.pid, nullptr, 0);
		unlink(c.plan.c_str());
		unlink(c.out.c_str());
	}
	fprintf(stderr, "meeshy-sim --search: stopped by signal %d\n",
		(int)stop_signal);
	signal(stop_signal, SIG_DFL);
	raise(stop_signal);
	_exit(128 + stop_signal);
}

/* meeshy-sim on each plan text, `jobs` at a time; the reports in the
 * plans' order (nullptr for a run that failed), each also handed to
 * done(i, report) as its run ends, so a long batch shows where it is. */
std::vector<cJSON *>
run_all(const std::string &self, const std::vector<std::string> &plans,
	const std::string &load, unsigned jobs, std::string &why,
	const std::function<void(size_t, const cJSON *)> &done)
{
	std::vector<cJSON *> reps(plans.size(), nullptr);
	std::vector<Child> kids(plans.size());
	size_t next = 0, running = 0;
	while (next < plans.size() || running) {
		if (stop_signal)
			stop_runs(kids);
		if (next < plans.size() && running < jobs) {
			kids[next] = start(self, plans[next], load);
			if (kids[next].pid > 0)
				running++;
			else /* not started: its files go, why says so */
				reap(kids[next], 0, why);
			next++;
			continue;
		}
		int status = 0;
		pid_t pid = wait(&status);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			break;
		for (size_t i = 0; i < next; i++)
			if (kids[i].pid == pid) {
				reps[i] = reap(kids[i], status, why);
				kids[i].pid = -1;
				done(i, reps[i]);
				running--;
			}
	}
	return reps;
}

const cJSON *dc_report(const cJSON *rep, size_t i)
{
	return cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(rep, "datacentres"), (int)i);
}

bool passes(const cJSON *rep)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rep, "plan_pass"));
}

/* What each data centre draws when it has room to spare: media nodes
 * for its CPU, gateways for its connections and TURN instances for its
 * relay sessions, with the headroom. */
std::vector<Datacentre> from_demand(const Scenario &s, const cJSON *rep)
{
	std::vector<Datacentre> dcs = s.datacentres;
	for (size_t i = 0; i < dcs.size(); i++) {
		const cJSON *d = dc_report(rep, i);
		double busy = json_num(d, "media_cores_busy", 0);
		double conn = json_num(d, "connected_at_end", 0);
		double relays = json_num(d, "relay_sessions", 0);
		dcs[i].media_nodes =
			busy > 0
				? (unsigned)std::ceil(busy * HEADROOM / s.cores)
				: 0;
		dcs[i].gateways =
			conn > 0 ? (unsigned)std::ceil(conn * HEADROOM /
						       s.gateway_connections)
				 : 0;
		/* a TURN instance wherever a participant used one, more for
		 * the sessions held at the end */
		dcs[i].turn = json_num(d, "relayed_participants", 0) > 0
				      ? std::max(1u, (unsigned)std::ceil(
							     relays * HEADROOM /
							     s.turn_sessions))
				      : 0;
	}
	return dcs;
}

/* the data centre the busiest by `what` (its busiest media node's
 * share, or its TURN's), among those that have `have` */
size_t busiest(const cJSON *rep, const std::vector<Datacentre> &dcs,
	       const char *what, unsigned Datacentre::*have)
{
	size_t best = 0;
	double most = -1;
	for (size_t i = 0; i < dcs.size(); i++) {
		double b = json_num(dc_report(rep, i), what, 0);
		if (dcs[i].*have && b > most) {
			most = b;
			best = i;
		}
	}
	return best;
}

cJSON *plan_json(const std::vector<Datacentre> &dcs, const cJSON *rep)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(o, "datacentres");
	for (const Datacentre &d : dcs)
		cJSON_AddItemToArray(a, datacentre_json(d));
	cJSON_AddBoolToObject(o, "pass", rep && passes(rep));
	if (rep)
		cJSON_AddItemToObject(o, "report", cJSON_Duplicate(rep, 1));
	return o;
}

struct Search {
	std::string self, plan, load, why;
	Scenario s;
	unsigned runs = 0, jobs = 1;
	/* each plan run so far (by its text) and its report: a plan and
	 * its load play the same events every time, and the descent comes
	 * back to plans it ran (one fewer at a site, tried on top of the
	 * round's first removal and failing there, is the next round's
	 * candidate again) */
	std::map<std::string, cJSON *> ran;

	~Search()
	{
		for (auto &[text, rep] : ran)
			cJSON_Delete(rep);
	}

	void say(const std::vector<Datacentre> &dcs, const cJSON *rep,
		 bool again)
	{
		if (again)
			fprintf(stderr, "meeshy-sim --search: as run before:");
		else
			fprintf(stderr, "meeshy-sim --search: run %u:", ++runs);
		/* media nodes / gateways / TURN: enough to take the search
		 * up again (--descend) from the last plan that passed */
		for (const Datacentre &d : dcs)
			if (d.media_nodes || d.gateways || d.turn)
				fprintf(stderr, " %s %u/%u/%u", d.name.c_str(),
					d.media_nodes, d.gateways, d.turn);
		fprintf(stderr, " -> %s\n",
			!rep          ? why.c_str()
			: passes(rep) ? "pass"
				      : "fail");
	}

	/* each plan a run, `jobs` at a time, but those run before (ran);
	 * reports in the plans' order, the caller's to delete */
	std::vector<cJSON *>
	try_plans(const std::vector<std::vector<Datacentre>> &plans)
	{
		std::vector<std::string> texts, fresh;
		std::vector<size_t> of; /* fresh[k] is plans[of[k]] */
		for (size_t i = 0; i < plans.size(); i++) {
			texts.push_back(plan_text(plan, plans[i], nullptr, why));
			if (!ran.count(texts[i]) &&
			    std::find(fresh.begin(), fresh.end(), texts[i]) ==
				    fresh.end()) {
				fresh.push_back(texts[i]);
				of.push_back(i);
			}
		}
		std::vector<cJSON *> got =
			run_all(self, fresh, load, jobs, why,
				[&](size_t k, const cJSON *rep) {
					say(plans[of[k]], rep, false);
				});
		for (size_t k = 0; k < fresh.size(); k++)
			ran[fresh[k]] = got[k];
		std::vector<cJSON *> reps;
		for (size_t i = 0; i < plans.size(); i++) {
			const cJSON *rep = ran[texts[i]];
			if (std::find(of.begin(), of.end(), i) == of.end())
				say(plans[i], rep, true);
			reps.push_back(rep ? cJSON_Duplicate(rep, 1) : nullptr);
		}
		return reps;
	}

	cJSON *try_plan(const std::vector<Datacentre> &dcs)
	{
		return try_plans({dcs})[0];
	}
};

/* True when one media node fewer at data centre i of `dcs` (whose run is
 * `rep`) cannot keep the headroom, so needs no run: the load is the same
 * calls on every plan and a data centre keeping a node keeps its calls,
 * so its cores' work stays, and the busiest node carries at least the
 * mean. Taking its last node moves its calls elsewhere: always run. */
bool headroom_rules_out(const Search &x, const cJSON *rep,
			const std::vector<Datacentre> &dcs, size_t i)
{
	unsigned left = dcs[i].media_nodes - 1;
	double busy = json_num(dc_report(rep, i), "media_cores_busy", 0);
	return left > 0 && busy / (left * x.s.cores) > 1 / HEADROOM;
}

/* Whether data centre d is at one of region r's metros */
bool in_region(const Region &r, const Datacentre &d)
{
	return std::find(r.metros.begin(), r.metros.end(), d.metro) !=
	       r.metros.end();
}

/* Whether the search may take nodes from data centre d: any, but in a
 * load cut to one region (only_region), that region's alone (the others
 * carry its calls' participants from elsewhere as the plan has them). */
bool searched(const Scenario &s, const Datacentre &d)
{
	if (s.only_region.empty())
		return true;
	for (const Region &r : s.regions)
		if (r.name == s.only_region)
			return in_region(r, d);
	return false;
}

/* One media node fewer at each data centre of `found` that has one and
 * can spare it (headroom_rules_out); the others in *ruled_out. */
std::vector<std::vector<Datacentre>>
one_fewer_each(const Search &x, const std::vector<Datacentre> &found,
	       const cJSON *rep, std::vector<size_t> &at,
	       std::vector<size_t> *ruled_out)
{
	std::vector<std::vector<Datacentre>> less;
	at.clear();
	ruled_out->clear();
	for (size_t i = 0; i < found.size(); i++) {
		if (!found[i].media_nodes || !searched(x.s, found[i]))
			continue;
		if (headroom_rules_out(x, rep, found, i)) {
			ruled_out->push_back(i);
			continue;
		}
		less.push_back(found);
		less.back()[i].media_nodes--;
		at.push_back(i);
	}
	return less;
}

/* After the first removal of a round is taken: the round's other
 * removals that passed alone (at[ok[1..]]), each tried on top of `found`,
 * kept while the plan still passes. Two at a time side by side: this one,
 * and this one with the next (when both pass, both are kept at once).
 * Each is a different data centre, which had a node at the round's start
 * and has lost none since, so each has one to lose; one whose calls grew
 * past what its nodes less one can carry is skipped (headroom_rules_out). */
void more_on_top(Search &x, std::vector<Datacentre> &found, cJSON **rep,
		 const std::vector<size_t> &at, const std::vector<size_t> &ok)
{
	for (size_t i = 1; i < ok.size();) {
		if (headroom_rules_out(x, *rep, found, at[ok[i]])) {
			i++;
			continue;
		}
		std::vector<std::vector<Datacentre>> trials(1, found);
		trials[0][at[ok[i]]].media_nodes--;
		if (i + 1 < ok.size() &&
		    !headroom_rules_out(x, *rep, found, at[ok[i + 1]])) {
			trials.push_back(trials[0]);
			trials[1][at[ok[i + 1]]].media_nodes--;
		}
		std::vector<cJSON *> reps = x.try_plans(trials);
		/* the pair passed: both kept; this one alone: the next was
		 * tried on top of it and failed; neither: the next is tried
		 * alone */
		size_t take = trials.size() == 2 && reps[1] && passes(reps[1])
				      ? 1
				      : (reps[0] && passes(reps[0]) ? 0 : 2);
		if (take < 2) {
			found = trials[take];
			cJSON_Delete(*rep);
			*rep = reps[take];
			reps[take] = nullptr;
		}
		i += take == 2 ? 1 : trials.size();
		for (cJSON *r : reps)
			cJSON_Delete(r);
	}
}

/* A removal in the last round's record: where, whether it passed, and
 * why it was not run (not_run: NULL when it was). */
void add_fewer(cJSON *arr, const Datacentre &at, bool pass, const char *not_run)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fewer_at", at.name.c_str());
	cJSON_AddBoolToObject(o, "pass", pass);
	if (not_run)
		cJSON_AddStringToObject(o, "not_run", not_run);
	cJSON_AddItemToArray(arr, o);
}

/* Down from a passing plan: one media node fewer at each data centre
 * that has one (those runs side by side); the first that still passes is
 * taken, then the others that passed alone are tried on top of it
 * (more_on_top); then the round starts again. Returns the last round, where
 * every plan of one node fewer failed (found, and *rep, are then the smallest).
 */
cJSON *descend(Search &x, std::vector<Datacentre> &found, cJSON **rep)
{
	for (;;) {
		std::vector<size_t> at, ruled_out;
		std::vector<std::vector<Datacentre>> less =
			one_fewer_each(x, found, *rep, at, &ruled_out);
		std::vector<cJSON *> reps = x.try_plans(less);
		cJSON *arr = cJSON_CreateArray();
		std::vector<size_t> ok;
		for (size_t i : ruled_out)
			add_fewer(
				arr, found[i], false,
				"headroom: its mean load alone exceeds 1/1.3");
		for (size_t k = 0; k < reps.size(); k++) {
			bool pass = reps[k] && passes(reps[k]);
			add_fewer(arr, found[at[k]], pass, nullptr);
			if (pass)
				ok.push_back(k);
		}
		if (ok.empty()) {
			for (cJSON *r : reps)
				cJSON_Delete(r);
			return arr;
		}
		cJSON_Delete(arr);
		found = less[ok[0]];
		cJSON_Delete(*rep);
		*rep = reps[ok[0]];
		reps[ok[0]] = nullptr;
		for (cJSON *r : reps)
			cJSON_Delete(r);
		more_on_top(x, found, rep, at, ok);
	}
}

int finish(cJSON *result, const char *out_path)
{
	char *text = cJSON_Print(result);
	FILE *f = out_path ? fopen(out_path, "w") : nullptr;
	if (f) {
		fputs(text, f);
		fputc('\n', f);
		fclose(f);
	}
	printf("%s\n", text);
	free(text);
	cJSON_Delete(result);
	if (out_path && !f) {
		fprintf(stderr, "meeshy-sim: --out: cannot write %s\n",
			out_path);
		return 1;
	}
	return 0;
}

/* The candidate site with the most media work in a region whose own rows
 * fail (rep's by_region), or dcs.size() when no region fails or its
 * region has no candidate site. */
size_t failing_region_site(const Scenario &s, const cJSON *rep,
			   const std::vector<Datacentre> &dcs)
{
	const cJSON *by = cJSON_GetObjectItemCaseSensitive(rep, "by_region");
	for (const Region &r : s.regions) {
		const cJSON *o =
			cJSON_GetObjectItemCaseSensitive(by, r.name.c_str());
		if (!cJSON_IsFalse(
			    cJSON_GetObjectItemCaseSensitive(o, "plan_pass")))
			continue;
		size_t best = dcs.size();
		double most = -1;
		for (size_t i = 0; i < dcs.size(); i++) {
			double busy = json_num(dc_report(rep, i),
					       "media_cores_busy", 0);
			if (in_region(r, dcs[i]) &&
			    s.datacentres[i].media_nodes && busy > most) {
				most = busy;
				best = i;
			}
		}
		if (best < dcs.size())
			return best;
	}
	return dcs.size();
}

/* Up from the demand a run with room to spare shows: a first plan that
 * passes, or the last tried (rep, its report; nullptr if a run failed). */
cJSON *first_passing(Search &x, std::vector<Datacentre> &dcs)
{
	/* where the load goes: every data centre with room to spare (a
	 * site planned without media nodes or TURN stays without) */
	std::vector<Datacentre> ample = x.s.datacentres;
	for (Datacentre &d : ample) {
		d.media_nodes = d.media_nodes ? 4 * (d.media_nodes + 1) : 0;
		d.turn = d.turn ? 4 * (d.turn + 1) : 0;
		d.gateways = std::max(1u, d.gateways);
	}
	cJSON *rep = x.try_plan(ample);
	if (!rep)
		return nullptr;
	dcs = from_demand(x.s, rep);
	cJSON_Delete(rep);
	rep = x.try_plan(dcs);
	/* a node (or a TURN instance) more where the busiest is, while
	 * only the headroom fails; a node more in a region whose own rows
	 * fail */
	unsigned region_steps = 0;
	for (unsigned step = 0; rep && !passes(rep) && step < MAX_STEPS;
	     step++) {
		const cJSON *h =
			cJSON_GetObjectItemCaseSensitive(rep, "headroom");
		/* an SLA row that fails with CPU to spare: not capacity,
		 * unless it is a region's own (a node more there, twice) */
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "pass"))) {
			size_t i = failing_region_site(x.s, rep, dcs);
			if (i == dcs.size() || region_steps++ == REGION_STEPS)
				break;
			dcs[i].media_nodes++;
		} else if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
				   h, "media_pass")))
			dcs[busiest(rep, dcs, "busiest_media_cpu_share",
				    &Datacentre::media_nodes)]
				.media_nodes++;
		else
			dcs[busiest(rep, dcs, "turn_share_busy",
				    &Datacentre::turn)]
				.turn++;
		cJSON_Delete(rep);
		rep = x.try_plan(dcs);
	}
	return rep;
}

} // namespace

int search_plan(const std::string &self, const std::string &plan,
		const std::string &load, unsigned jobs, bool descend_only,
		const char *out_path)
{
	catch_stop_signals();
	Search x{self, plan, load, "", Scenario(), 0, jobs};
	if (!load_scenario({plan, load}, x.s, x.why)) {
		fprintf(stderr, "meeshy-sim: %s\n", x.why.c_str());
		return 2;
	}
	std::vector<Datacentre> dcs = x.s.datacentres;
	cJSON *rep = descend_only ? x.try_plan(dcs) : first_passing(x, dcs);
	if (!rep)
		return fprintf(stderr, "meeshy-sim: %s\n", x.why.c_str()), 1;
	cJSON *result = cJSON_CreateObject();
	bool found = passes(rep);
	cJSON *fewer = found ? descend(x, dcs, &rep) : nullptr;
	cJSON_AddBoolToObject(result, "found", found);
	cJSON_AddItemToObject(result, "smallest", plan_json(dcs, rep));
	cJSON_AddItemToObject(result, "plan",
			      cJSON_Parse(plan_text(plan, dcs,
						    "the smallest passing plan "
						    "(meeshy-sim --search)",
						    x.why)
						  .c_str()));
	cJSON_Delete(rep);
	if (fewer)
		cJSON_AddItemToObject(result, "one_node_fewer", fewer);
	cJSON_AddNumberToObject(result, "runs", x.runs);
	return finish(result, out_path);
}

} // namespace sim
