/*
 * search.cc - the smallest plan that passes (search.h).
 */
#include "search.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
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
const double HEADROOM = 1.3;

std::string temp_file(const char *what, const std::string &text)
{
	std::string path = std::string("/tmp/meeshy-sim-") + what + "-XXXXXX";
	int fd = mkstemp(&path[0]);
	if (fd < 0)
		return std::string();
	bool ok = write(fd, text.data(), text.size()) == (ssize_t)text.size();
	close(fd);
	return ok ? path : std::string();
}

/* meeshy-sim on this plan and the load, in a child; its report or
 * nullptr (why says what went wrong). */
cJSON *run(const std::string &self, const std::string &plan_text,
	   const std::string &load, std::string &why)
{
	std::string plan = temp_file("plan", plan_text);
	std::string out = temp_file("report", "");
	cJSON *rep = nullptr;
	pid_t pid = plan.empty() || out.empty() ? -1 : fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execl(self.c_str(), self.c_str(), plan.c_str(), load.c_str(),
		      "--out", out.c_str(), (char *)nullptr);
		_exit(127);
	}
	int status = 0;
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0) {
		std::ifstream f(out);
		std::stringstream ss;
		ss << f.rdbuf();
		rep = cJSON_Parse(ss.str().c_str());
	}
	if (!rep)
		why = "a run of " + self + " on " + load + " failed (status " +
		      std::to_string(status) + ")";
	unlink(plan.c_str());
	unlink(out.c_str());
	return rep;
}

double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
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
 * for its CPU and gateways for its connections, with the headroom. */
std::vector<Datacentre> from_demand(const Scenario &s, const cJSON *rep)
{
	std::vector<Datacentre> dcs = s.datacentres;
	for (size_t i = 0; i < dcs.size(); i++) {
		const cJSON *d = dc_report(rep, i);
		double busy = num(d, "media_cores_busy");
		double conn = num(d, "connected_at_end");
		dcs[i].media_nodes =
			busy > 0
				? (unsigned)std::ceil(busy * HEADROOM / s.cores)
				: 0;
		dcs[i].gateways =
			conn > 0 ? (unsigned)std::ceil(conn * HEADROOM /
						       s.gateway_connections)
				 : 0;
	}
	return dcs;
}

/* the data centre whose busiest media node is the busiest */
size_t busiest(const cJSON *rep, const std::vector<Datacentre> &dcs)
{
	size_t best = 0;
	double most = -1;
	for (size_t i = 0; i < dcs.size(); i++) {
		double b = num(dc_report(rep, i), "busiest_media_cpu_share");
		if (dcs[i].media_nodes && b > most) {
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
	for (const Datacentre &d : dcs) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", d.name.c_str());
		cJSON_AddNumberToObject(x, "media_nodes", d.media_nodes);
		cJSON_AddNumberToObject(x, "gateways", d.gateways);
		cJSON_AddNumberToObject(x, "turn", d.turn);
		cJSON_AddItemToArray(a, x);
	}
	cJSON_AddBoolToObject(o, "pass", rep && passes(rep));
	if (rep)
		cJSON_AddItemToObject(o, "report", cJSON_Duplicate(rep, 1));
	return o;
}

struct Search {
	std::string self, plan, load, why;
	Scenario s;
	unsigned runs = 0;

	cJSON *try_plan(const std::vector<Datacentre> &dcs)
	{
		std::string text = plan_text(plan, dcs, nullptr, why);
		runs++;
		fprintf(stderr, "meeshy-sim --search: run %u:", runs);
		for (const Datacentre &d : dcs)
			fprintf(stderr, " %s %u media %u gw", d.name.c_str(),
				d.media_nodes, d.gateways);
		cJSON *rep =
			text.empty() ? nullptr : run(self, text, load, why);
		fprintf(stderr, " -> %s\n",
			!rep          ? why.c_str()
			: passes(rep) ? "pass"
				      : "fail");
		return rep;
	}
};

/* Each data centre one media node fewer (those that have one): every
 * such plan must fail for the found one to be the smallest. */
cJSON *smaller_ones(Search &x, const std::vector<Datacentre> &found)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < found.size(); i++) {
		if (!found[i].media_nodes)
			continue;
		std::vector<Datacentre> less = found;
		less[i].media_nodes--;
		cJSON *rep = x.try_plan(less);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "fewer_at", found[i].name.c_str());
		cJSON_AddBoolToObject(o, "pass", rep && passes(rep));
		cJSON_AddItemToArray(arr, o);
		cJSON_Delete(rep);
	}
	return arr;
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

} // namespace

int search_plan(const std::string &self, const std::string &plan,
		const std::string &load, const char *out_path)
{
	Search x{self, plan, load, "", Scenario(), 0};
	if (!load_scenario({plan, load}, x.s, x.why)) {
		fprintf(stderr, "meeshy-sim: %s\n", x.why.c_str());
		return 2;
	}
	/* where the load goes: every data centre with room to spare */
	std::vector<Datacentre> ample = x.s.datacentres;
	for (Datacentre &d : ample) {
		d.media_nodes = 4 * (d.media_nodes + 1);
		d.gateways = std::max(1u, d.gateways);
	}
	cJSON *rep = x.try_plan(ample);
	if (!rep)
		return fprintf(stderr, "meeshy-sim: %s\n", x.why.c_str()), 1;
	std::vector<Datacentre> dcs = from_demand(x.s, rep);
	cJSON_Delete(rep);
	rep = x.try_plan(dcs);
	/* a node more where the busiest is, while only the headroom fails */
	for (unsigned step = 0; rep && !passes(rep) && step < MAX_STEPS;
	     step++) {
		const cJSON *h =
			cJSON_GetObjectItemCaseSensitive(rep, "headroom");
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "pass")))
			break; /* an SLA row fails with CPU to spare: not
				  capacity */
		dcs[busiest(rep, dcs)].media_nodes++;
		cJSON_Delete(rep);
		rep = x.try_plan(dcs);
	}
	if (!rep)
		return fprintf(stderr, "meeshy-sim: %s\n", x.why.c_str()), 1;
	cJSON *result = cJSON_CreateObject();
	bool found = passes(rep);
	cJSON_AddBoolToObject(result, "found", found);
	cJSON_AddItemToObject(result, "smallest", plan_json(dcs, rep));
	cJSON_AddItemToObject(result, "plan",
			      cJSON_Parse(plan_text(plan, dcs,
						    "the smallest passing plan "
						    "(meeshy-sim --search)",
						    x.why)
						  .c_str()));
	cJSON_Delete(rep);
	if (found)
		cJSON_AddItemToObject(result, "one_node_fewer",
				      smaller_ones(x, dcs));
	cJSON_AddNumberToObject(result, "runs", x.runs);
	return finish(result, out_path);
}

} // namespace sim
