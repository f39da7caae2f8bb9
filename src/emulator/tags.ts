/** The tags an emulated instance carries, as EC2 DescribeInstances and IMDS `tags/instance` show them. */
import type { GroupView, InstanceView } from './types.ts';

/**
 * Elastigroup instances: `Name` and the `spotinst:aws:ec2:group:*` tags Spot.io adds. ASG instances:
 * `aws:autoscaling:groupName` (added by Auto Scaling to every member) plus the group's tags (all
 * propagated at launch), `Name` defaulting to the group name.
 */
export function instanceTags(inst: InstanceView, group: GroupView | undefined): Record<string, string> {
  const name = group?.name ?? inst.groupId;
  if (group?.asg) {
    return { Name: name, ...group.asg.tags, 'aws:autoscaling:groupName': name };
  }
  return {
    Name: name,
    'spotinst:aws:ec2:group:createdBy': 'spotinst',
    'spotinst:aws:ec2:group:id': inst.groupId,
    'spotinst:aws:ec2:group:name': name,
  };
}
