package io.flinkfleet.ha.flink120;

import org.apache.flink.api.common.JobID;
import org.apache.flink.runtime.jobmanager.JobGraphStoreUtil;

/** Entry names of {@code execution-plans/} (1.20 keeps its job graphs there): the job id in hex. */
public enum PvcJobGraphStoreUtil implements JobGraphStoreUtil {
    INSTANCE;

    @Override
    public String jobIDToName(JobID jobId) {
        return jobId.toHexString();
    }

    @Override
    public JobID nameToJobID(String name) {
        return JobID.fromHexString(name);
    }
}
